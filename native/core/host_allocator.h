// CPU allocator for tensors created through specfuse.
//
// libtorch's default CPU allocator uses posix_memalign(64). Inside Node, small long-lived objects
// (the JS wrappers' native halves, waiting for GC) land between tensor buffers, and glibc's
// memalign cannot reuse a freed hole of exactly the buffer's size (it asks for size + alignment):
// a loop creating and disposing same-sized tensors then grows RSS by one buffer per iteration
// (measured: 2.5 GB for 10,000 256x256 float tensors). Plain malloc(size + 64), aligned by hand,
// reuses those holes exactly, so the loop stays flat.
//
// Blocks of 4 MiB and more are mapped 2 MiB-aligned and advised as transparent huge pages, as numpy
// does: first-touch page faults otherwise dominate copies of large arrays (64 MB: 16,384 faults).
// When freed they stay mapped for reuse by the next block of the same size, within the earlier peak
// of memory in use, and are unmapped after 1 s without large allocations (host_allocator.cc).
#pragma once
#include <cstddef>

namespace specfuse {

// malloc-like host memory for buffers handed to JS (same huge-page policy); free with host_free.
void* host_alloc(size_t n);
void host_free(void* p);

// Installs the allocator as libtorch's CPU allocator (once per process; later calls do nothing).
void install_host_allocator();

}  // namespace specfuse
