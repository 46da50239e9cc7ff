// The intra-op thread policy of the compute thread.
//
// setNumThreads(n) fixes the team at n threads. The default (n = the cores this process may use)
// is adaptive: before each task the team is sized to the cores other processes leave free
// (core/free_cores.h), between 1 and n, re-measured at most every 200 ms, so a specfuse beside a
// busy process or a second specfuse shares the machine instead of stalling at every barrier. Within
// a long task (one forward of a full-size model runs for seconds on a CPU) the width is re-checked
// at the start of ATen ops, at most every 250 ms.
#pragma once

namespace specfuse {

// n >= 1; adaptive: size the team to the free cores, at most n.
void set_intra_op_threads(int n, bool adaptive);
// The configured n (what getNumThreads reports).
int intra_op_threads();
// Compute thread only: the team for the next task.
int team_for_next_task();
// Compute thread only, once: re-check the team during its tasks (an ATen RecordFunction callback).
void recheck_team_during_tasks();

}  // namespace specfuse
