// The one OS thread that runs every async task's libtorch work.
//
// OpenMP keeps one thread team per calling thread: with tasks landing on any of libuv's four
// threads, up to four teams existed, and the idle ones' spin-waiting threads took the cores from
// the running one (a tiny PanAdapter forward on 2 cores: 82 ms on 1 thread, 88 ms on 2; 49 ms on 2
// with a single calling thread). PyTorch in Python calls from one thread too.
#pragma once
#include <functional>

namespace specfuse {

// Queues `task` on the compute thread (FIFO) and returns at once. The task must catch its own
// exceptions. Thread-safe; the thread is started on first use and lives for the process.
void post_to_compute_thread(std::function<void()> task);

// At process exit: keeps the compute thread from starting another task and returns whether one is
// still running (then libtorch's static destructors must not run under it: guardExit in native/addon.cc).
bool close_compute_thread_for_exit();

}  // namespace specfuse
