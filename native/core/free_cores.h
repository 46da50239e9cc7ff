// How many cores the rest of the machine leaves free, measured, for sizing the intra-op team.
//
// An OpenMP team wider than the free cores waits at each of the hundreds of barriers of a step for
// a thread the OS has preempted: tiny PanAdapter training on 2 cores beside one busy-loop process
// kept 3-4 % of its throughput alone (PyTorch too). Counting others' load, not ours: the machine's
// busy CPU time from /proc/stat minus this process's own (/proc/self/stat), over the time since the
// last sample, so our own (possibly spinning) threads never count against us.
#pragma once

namespace specfuse {

class FreeCores {
 public:
  // Cores not used by other processes over the window since the previous sample that is at least
  // `min_window_ms` old; the previous answer while the window is shorter; -1 where /proc cannot be
  // read (not Linux) or before the first window. Not thread-safe: one caller (the compute thread).
  double sample(int min_window_ms = 200);

 private:
  bool have_ = false;
  long long busy_ = 0, total_ = 0, self_ = 0;
  double last_ = -1;
  long long at_ms_ = 0;
};

}  // namespace specfuse
