// Gives freed host memory back to the operating system.
//
// Tensor buffers under the mmap threshold come from glibc's heaps, and glibc only returns the top
// of a heap: once the native halves of JS wrappers and other small blocks sit between tensor
// buffers, disposing every tensor leaves RSS where it peaked (measured: 3,000 live 256x256 float
// tensors, 916 MB RSS, still 916 MB after disposing all of them; 167 MB after malloc_trim(0)).
// malloc_trim walks every heap (35-55 ms for that one, 30 ms even with nothing to give back), so
// it runs on a thread of its own, only on request, and never more than 5 % of the time.
#pragma once

namespace specfuse {

// Asks for a trim soon (thread-safe, non-blocking; requests made while one is due coalesce).
void request_memory_return();

}  // namespace specfuse
