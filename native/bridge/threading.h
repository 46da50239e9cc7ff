// The intra-op thread policy of the compute thread.
//
// setNumThreads(n) fixes the team at n threads. The default (n = the cores this process may use)
// is adaptive: before each task the team is sized to the cores other processes leave free
// (core/free_cores.h), between 1 and n, re-measured at most every 200 ms, so a specfuse beside a
// busy process or a second specfuse shares the machine instead of stalling at every barrier.
#pragma once

namespace specfuse {

// n >= 1; adaptive: size the team to the free cores, at most n.
void set_intra_op_threads(int n, bool adaptive);
// The configured n (what getNumThreads reports).
int intra_op_threads();
// Compute thread only: the team for the next task.
int team_for_next_task();

}  // namespace specfuse
