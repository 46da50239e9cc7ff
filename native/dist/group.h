// A process group: the ranks of one data-parallel job, connected through c10d: Gloo on CPU tensors,
// or NCCL on CUDA tensors (libtorch's ProcessGroupNCCL, through the plugin of dist/nccl_loader.h).
// Every collective blocks the calling thread (specfuse's compute thread) until it completes or
// fails; a failure (a peer that died, or never answered within the timeout) is a DistError, never a
// hang.
#pragma once
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "dist/gloo_backend.h"
#include "dist/store.h"

namespace specfuse::dist {

struct GroupOptions {
  std::string backend = "gloo";  // gloo | nccl
  StoreSpec store;
  int rank = 0;
  int world_size = 1;
  std::chrono::milliseconds timeout{300000};
  // Compared across ranks through the store before connecting (world size and backend are always
  // part of it): ranks started with different configurations fail at once instead of deadlocking.
  std::string fingerprint;
  bool check_peers = true;  // false: skip the exchange (a peer that is not specfuse, e.g. Python)
  std::string hostname;     // the Gloo device's address ("" = c10d's default)
  // NCCL: this rank's GPU is cuda:local_rank (torchrun's LOCAL_RANK; -1 = rank), one process per GPU
  int local_rank = -1;
};

enum class ReduceOp { Sum, Mean, Max, Min };

class Group {
 public:
  static std::shared_ptr<Group> create(const GroupOptions& options);
  ~Group();

  int rank() const { return rank_; }
  int size() const { return size_; }
  const std::string& backend() const { return backend_name_; }
  // Where the group's tensors live: the CPU for Gloo, this rank's GPU for NCCL. The collectives
  // refuse tensors elsewhere; callers make their small exchange tensors (loss sums, counts) here.
  const c10::Device& device() const { return device_; }

  // In place, every tensor reduced across ranks; tensors of one dtype travel in buckets of at most
  // `bucket_bytes` (one collective per bucket instead of one per tensor).
  void all_reduce(const std::vector<torch::Tensor>& tensors, ReduceOp op = ReduceOp::Sum);
  // In place: every rank ends with `root`'s values.
  void broadcast(const std::vector<torch::Tensor>& tensors, int root);
  void barrier();
  // Every rank publishes `value` under `name`; throws a 'mismatch' DistError on a rank whose value
  // differs from rank 0's (rank 0 compares with every rank).
  void agree(const std::string& name, const std::string& value);

  GlooLayoutProbe probe() const { return probe_gloo_layout(backend_); }
  // Seconds spent inside collectives so far (for the benchmark's communication time per step).
  double comm_seconds() const { return comm_ns_.load() * 1e-9; }

  int64_t bucket_bytes = 25 << 20;  // DDP's default bucket_cap_mb

 private:
  Group() = default;
  // Starts a collective (which may itself throw: NCCL checks its tensors when called) and waits for it.
  template <typename Start>
  void run(Start&& start, const char* what);
  template <typename F>
  void timed(F&& f);
  std::vector<std::vector<torch::Tensor>> buckets(const std::vector<torch::Tensor>& tensors) const;

  int rank_ = 0, size_ = 1;
  std::string backend_name_;
  c10::Device device_{c10::kCPU};
  std::chrono::milliseconds timeout_{300000};
  c10::intrusive_ptr<c10d::Store> store_;      // the job's store (rank 0 may host its server)
  c10::intrusive_ptr<c10d::Store> own_store_;  // our keys: fingerprints, agreements
  c10::intrusive_ptr<c10d::Backend> backend_;
  int64_t agreements_ = 0;
  std::atomic<int64_t> comm_ns_{0};
};

}  // namespace specfuse::dist
