#include "core/free_cores.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

namespace specfuse {
namespace {

// The machine's busy and total jiffies (first line of /proc/stat).
bool machine_jiffies(long long& busy, long long& total) {
  FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return false;
  long long v[8] = {0};
  const int n = std::fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                            &v[6], &v[7]);
  std::fclose(f);
  if (n < 4) return false;
  // user nice system idle iowait irq softirq steal. Steal (a virtual machine's CPU time taken by the
  // host for other guests) is left out of both: it is not a process on this machine, and it takes
  // time from every thread alike, so a narrower team would not avoid it. Counted as busy, steal above
  // 1/6 of each vCPU (5-19 % seen in vmstat during benchmarks on a 2-vCPU guest) left less than 5/3
  // free cores on an otherwise idle machine: a team of 1 (bridge/threading.cc).
  busy = v[0] + v[1] + v[2] + v[5] + v[6];
  total = busy + v[3] + v[4];
  return true;
}

// This process's user + system jiffies, all threads (fields 14 and 15 of /proc/self/stat).
bool own_jiffies(long long& used) {
  FILE* f = std::fopen("/proc/self/stat", "r");
  if (!f) return false;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // the command name may contain spaces
  if (!p) return false;
  unsigned long long utime = 0, stime = 0;
  // after ')': state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  if (std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return false;
  used = (long long)(utime + stime);
  return true;
}

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

double FreeCores::sample(int min_window_ms) {
  const long long t = now_ms();
  if (have_ && t - at_ms_ < min_window_ms) return last_;
  long long busy = 0, total = 0, self = 0;
  if (!machine_jiffies(busy, total) || !own_jiffies(self)) return -1;
  const long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (have_ && total > total_ && ncpu > 0) {
    // total counts every CPU: per-core shares are deltas over total, times the CPU count
    const double others = double((busy - busy_) - (self - self_)) / double(total - total_) * double(ncpu);
    last_ = double(ncpu) - (others > 0 ? others : 0);
  }
  have_ = true;
  busy_ = busy;
  total_ = total;
  self_ = self;
  at_ms_ = t;
  return last_;
}

}  // namespace specfuse
