#include "bridge/threading.h"

#include <atomic>
#include <cmath>

#include "core/free_cores.h"

namespace specfuse {
namespace {

std::atomic<int> g_threads{1};
std::atomic<bool> g_adaptive{false};

}  // namespace

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
