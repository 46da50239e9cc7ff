// c10d's key-value stores (libtorch_cpu.so): the rendezvous every rank meets at before the process
// group connects. FileStore for one machine (a shared file), TCPStore as torchrun's env:// (rank 0,
// or torchrun's agent, hosts it), PrefixStore to keep our keys apart from other users of a store.
#pragma once
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace specfuse::dist {

struct StoreSpec {
  std::string kind;        // "file" | "tcp"
  std::string path;        // file
  std::string host;        // tcp
  int port = 29500;        // tcp
  bool is_server = false;  // tcp: this process hosts the store (rank 0 without torchrun's agent store)
  int world_size = 1;
  std::chrono::milliseconds timeout{300000};
};

c10::intrusive_ptr<c10d::Store> make_store(const StoreSpec& spec);
c10::intrusive_ptr<c10d::Store> prefixed(const std::string& prefix, const c10::intrusive_ptr<c10d::Store>& store);

}  // namespace specfuse::dist
