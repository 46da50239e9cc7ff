#include "bridge/threading.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <atomic>
#include <chrono>
#include <cmath>

#include "core/free_cores.h"

namespace specfuse {
namespace {

std::atomic<int> g_threads{1};
std::atomic<bool> g_adaptive{false};

// Sampled op starts on the compute thread (outside parallel regions, where a new width would only
// reach nested regions): the adaptive width, applied when it changed. A sampled op costs a clock read.
std::unique_ptr<at::ObserverContext> recheck_team(const at::RecordFunction&) {
  static thread_local std::chrono::steady_clock::time_point last{};
  if (!g_adaptive.load() || at::in_parallel_region()) return nullptr;
  const auto now = std::chrono::steady_clock::now();
  if (now - last < std::chrono::milliseconds(250)) return nullptr;
  last = now;
  const int team = team_for_next_task();
  if (team != at::get_num_threads()) at::set_num_threads(team);
  return nullptr;
}

}  // namespace

void recheck_team_during_tasks() {
  // Sampling keeps the per-op cost at a countdown: a forward runs thousands of ops, so a 1 in 16
  // sample still looks often enough, while the clock gate above bounds the /proc reads.
  at::addThreadLocalCallback(at::RecordFunctionCallback(&recheck_team).samplingProb(1.0 / 16));
}

void set_intra_op_threads(int n, bool adaptive) {
  g_threads = n;
  g_adaptive = adaptive;
}

int intra_op_threads() { return g_threads.load(); }

int team_for_next_task() {
  static FreeCores free_cores;  // compute thread only
  const int limit = g_threads.load();
  if (!g_adaptive.load() || limit <= 1) return limit;
  const double free = free_cores.sample();
  if (free < 0) return limit;  // not measured (yet): the configured width
  // A core counts as free when at least 2/3 of it is: a team member on a core that is mostly
  // taken makes every barrier wait for it.
  const int team = int(std::floor(free + 1.0 / 3.0));
  return team < 1 ? 1 : (team > limit ? limit : team);
}

}  // namespace specfuse
