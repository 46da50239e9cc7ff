#include "dist/group.h"

#include <chrono>
#include <map>

#include "core/errors.h"
#include "dist/dist_errors.h"
#include "dist/nccl_loader.h"

namespace specfuse::dist {
namespace {

// Python's init_process_group keys its first group as PrefixStore("default_pg") → "0/" → "<device>/"
// over the rendezvous store; the same nesting lets a Python rank (backend "cpu:gloo", or
// "cuda:nccl") join ours.
c10::intrusive_ptr<c10d::Store> backend_store(const c10::intrusive_ptr<c10d::Store>& store, const std::string& device) {
  return prefixed(device + "/", prefixed("0/", prefixed("default_pg", store)));
}

std::string to_string(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }
std::vector<uint8_t> to_bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

// One contiguous buffer per bucket (Gloo and NCCL work on dense buffers): the tensor itself when the bucket
// holds one contiguous tensor, else the bucket's tensors concatenated; copy_back_from_buffer copies results back.
torch::Tensor bucket_buffer(const std::vector<torch::Tensor>& bucket) {
  if (bucket.size() == 1 && bucket[0].is_contiguous()) return bucket[0];
  std::vector<torch::Tensor> v;
  for (const auto& t : bucket) v.push_back(t.reshape(-1));
  return torch::cat(v);
}

void copy_back_from_buffer(const torch::Tensor& flat, const std::vector<torch::Tensor>& bucket) {
  if (flat.data_ptr() == bucket[0].data_ptr() && bucket.size() == 1) return;
  int64_t at = 0;
  for (const auto& t : bucket) {
    t.copy_(flat.narrow(0, at, t.numel()).view(t.sizes()));
    at += t.numel();
  }
}

}  // namespace

std::shared_ptr<Group> Group::create(const GroupOptions& o) {
  if (o.world_size < 1)
    throw range_error("distributed: worldSize must be an integer >= 1, got " + std::to_string(o.world_size));
  if (o.rank < 0 || o.rank >= o.world_size)
    throw range_error("distributed: rank " + std::to_string(o.rank) + " is outside 0.." +
                      std::to_string(o.world_size - 1));
  if (o.timeout.count() <= 0) throw range_error("distributed: timeoutMs must be > 0");
  if (o.backend != "gloo" && o.backend != "nccl")
    throw range_error("distributed: backend: expected 'gloo' or 'nccl', got '" + o.backend + "'");
  const int local_rank = o.local_rank < 0 ? o.rank : o.local_rank;

  auto g = std::shared_ptr<Group>(new Group());
  g->rank_ = o.rank;
  g->size_ = o.world_size;
  g->backend_name_ = o.backend;
  if (o.backend == "nccl") g->device_ = c10::Device(c10::kCUDA, c10::DeviceIndex(local_rank));
  g->timeout_ = o.timeout;
  g->store_ = make_store(o.store);
  g->own_store_ = prefixed("specfuse", g->store_);
  if (o.check_peers) {
    const std::string mine = "world=" + std::to_string(o.world_size) + ";backend=" + o.backend + ";" + o.fingerprint;
    try {
      // Two processes claiming one rank would each wait for the other forever inside Gloo.
      if (g->own_store_->add("rank/" + std::to_string(o.rank), 1) > 1)
        throw DistError("mismatch", "two processes joined as rank " + std::to_string(o.rank) +
                                        " (check RANK; or the store is a file left by an earlier run: give a new one)");
    } catch (const DistError&) {
      throw;
    } catch (...) {
      rethrow_classified("joining the store");
    }
    g->agree("fingerprint", mine);
  }
  if (o.backend == "nccl") {
    // its own DistErrors: 'unsupported' when this process cannot run NCCL, else classified
    g->backend_ = make_nccl_backend(backend_store(g->store_, "cuda"), o.rank, o.world_size, o.timeout, local_rank);
    return g;
  }
  try {
    g->backend_ = make_gloo_backend(backend_store(g->store_, "cpu"), o.rank, o.world_size, o.timeout, o.hostname);
  } catch (...) {
    rethrow_classified("connecting the Gloo process group (rank " + std::to_string(o.rank) + " of " +
                       std::to_string(o.world_size) + ")");
  }
  return g;
}

Group::~Group() {
  // As torch.distributed.destroy_process_group does before releasing an NCCL group: its watchdog and
  // communicators are shut down in order (ProcessGroupNCCL's destructor otherwise warns that the group
  // was not destroyed and aborts the communicators). Gloo's needs nothing (its default is a no-op).
  if (backend_ && backend_name_ == "nccl") {
    try {
      backend_->shutdown();
    } catch (...) {
      // a destructor must not throw; the communicators go with the object regardless
    }
  }
}

void Group::agree(const std::string& name, const std::string& value) {
  // each agreement gets its own keys, so a name can be agreed on more than once
  const std::string base = "agree/" + std::to_string(agreements_++) + "/" + name + "/";
  try {
    own_store_->set(base + std::to_string(rank_), to_bytes(value));
    std::vector<int> peers;
    if (rank_ == 0)
      for (int r = 1; r < size_; ++r) peers.push_back(r);
    else peers.push_back(0);
    std::vector<std::string> keys;
    for (int r : peers) keys.push_back(base + std::to_string(r));
    own_store_->wait(keys, timeout_);
    for (size_t i = 0; i < keys.size(); ++i) {
      const auto other = to_string(own_store_->get(keys[i]));
      if (other != value)
        throw DistError("mismatch", name + " differs between rank " + std::to_string(rank_) + " (" + value +
                                        ") and rank " + std::to_string(peers[i]) + " (" + other + ")");
    }
  } catch (const DistError&) {
    throw;
  } catch (...) {
    // the start-up exchange is specfuse's own: a peer that is not specfuse never publishes
    const std::string hint =
        name == "fingerprint"
            ? "; a rank that is not specfuse (e.g. Python torch.distributed) needs checkPeers: false here"
            : "";
    rethrow_classified("waiting for every rank to publish its " + name + " (rank " + std::to_string(rank_) + " of " +
                       std::to_string(size_) + hint + ")");
  }
}

template <typename F>
void Group::timed(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  comm_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
}

template <typename Start>
void Group::run(Start&& start, const char* what) {
  if (!backend_) throw RuntimeError("distributed: the process group was destroyed");
  try {
    // With a timeout, ProcessGroupNCCL's wait blocks this thread until the collective finished on
    // the GPU (without one it would only order the current CUDA stream after it): the same blocking
    // semantics as Gloo's, so comm_seconds and a failing collective's error mean the same on both.
    start()->wait(timeout_);
  } catch (...) {
    rethrow_classified(std::string(what) + " (rank " + std::to_string(rank_) + " of " + std::to_string(size_) + ")");
  }
}

std::vector<std::vector<torch::Tensor>> Group::buckets(const std::vector<torch::Tensor>& tensors) const {
  // by dtype and device, in order, each bucket up to bucket_bytes (a larger tensor travels alone)
  std::vector<std::vector<torch::Tensor>> out;
  std::map<std::pair<int, std::string>, size_t> open;
  std::map<size_t, int64_t> bytes;
  for (const auto& t : tensors) {
    if (!t.defined()) throw type_error("distributed: undefined tensor");
    if (t.device() != device_) {
      if (device_.is_cpu())
        throw DistError("unsupported", "backend 'gloo' takes CPU tensors; this tensor is on " + t.device().str() +
                                           " (backend 'nccl' runs collectives on CUDA tensors)");
      throw DistError("unsupported", "backend 'nccl' takes CUDA tensors on this rank's device " + device_.str() +
                                         " (cuda:LOCAL_RANK); this tensor is on " + t.device().str() +
                                         ": move it (and the model) to " + device_.str());
    }
    const auto key = std::make_pair(int(t.scalar_type()), t.device().str());
    const int64_t nb = t.numel() * int64_t(t.element_size());
    auto it = open.find(key);
    if (it == open.end() || bytes[it->second] + nb > bucket_bytes) {
      out.emplace_back();
      open[key] = out.size() - 1;
      it = open.find(key);
    }
    out[it->second].push_back(t);
    bytes[it->second] += nb;
  }
  return out;
}

void Group::all_reduce(const std::vector<torch::Tensor>& tensors, ReduceOp op) {
  if (!backend_) throw RuntimeError("distributed: the process group was destroyed");
  torch::NoGradGuard no_grad;
  c10d::AllreduceOptions ro;
  ro.reduceOp = op == ReduceOp::Max   ? c10d::ReduceOp::MAX
                : op == ReduceOp::Min ? c10d::ReduceOp::MIN
                                      : c10d::ReduceOp::SUM;
  timed([&] {
    for (auto& bucket : buckets(tensors)) {
      // one contiguous buffer per bucket (Gloo reduces dense buffers); copied back afterwards
      std::vector<torch::Tensor> flat = {bucket_buffer(bucket)};
      run([&] { return backend_->allreduce(flat, ro); }, "all-reduce");
      if (op == ReduceOp::Mean) flat[0].div_(size_);
      copy_back_from_buffer(flat[0], bucket);
    }
  });
}

void Group::broadcast(const std::vector<torch::Tensor>& tensors, int root) {
  if (!backend_) throw RuntimeError("distributed: the process group was destroyed");
  if (root < 0 || root >= size_)
    throw range_error("broadcast: root " + std::to_string(root) + " is outside 0.." + std::to_string(size_ - 1));
  torch::NoGradGuard no_grad;
  c10d::BroadcastOptions bo;
  bo.rootRank = root;
  timed([&] {
    for (auto& bucket : buckets(tensors)) {
      std::vector<torch::Tensor> flat = {bucket_buffer(bucket)};
      run([&] { return backend_->broadcast(flat, bo); }, "broadcast");
      copy_back_from_buffer(flat[0], bucket);
    }
  });
}

void Group::barrier() {
  if (!backend_) throw RuntimeError("distributed: the process group was destroyed");
  timed([&] { run([&] { return backend_->barrier(); }, "barrier"); });
}

}  // namespace specfuse::dist
