#include "bridge/dist_bind.h"

#include <mutex>

#include "bridge/async.h"
#include "bridge/convert.h"
#include "bridge/napi_errors.h"
#include "bridge/tensor.h"
#include "core/device.h"

namespace specfuse {
namespace {

// One default group per process (a process is one rank), shared by every JS environment.
std::mutex g_mutex;
std::shared_ptr<dist::Group> g_group;
bool g_initializing = false;

std::shared_ptr<dist::Group> require_group(const char* what) {
  auto g = default_group();
  if (!g)
    throw RuntimeError(std::string(what) + ": the process group is not initialized; await initDistributed() first");
  return g;
}

Napi::Object group_info(Napi::Env env, const dist::Group& g) {
  auto o = Napi::Object::New(env);
  o.Set("rank", g.rank());
  o.Set("worldSize", g.size());
  o.Set("backend", g.backend());
  o.Set("device", device_name(g.device()));
  return o;
}

// initDistributed(options) -> Promise<{rank, worldSize, backend, device}>; options as
// lib/distributed/options.ts resolves them (flat: storeKind, path, host, port, isServer, rank,
// worldSize, localRank, timeoutMs, ...).
Napi::Value Init(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Config c = read_config(arg_or_undefined(info, 0), "options");
    dist::GroupOptions o;
    o.backend = c.get_string("backend", o.backend);
    o.rank = int(c.get_int("rank", 0));
    o.world_size = int(c.get_int("worldSize", 1));
    o.timeout = std::chrono::milliseconds(c.get_int("timeoutMs", o.timeout.count()));
    o.fingerprint = c.get_string("fingerprint", "");
    o.check_peers = c.get_bool("checkPeers", true);
    o.hostname = c.get_string("hostname", "");
    o.local_rank = int(c.get_int("localRank", o.local_rank));
    o.store.kind = c.get_string("storeKind", "file");
    o.store.path = c.get_string("path", "");
    o.store.host = c.get_string("host", "");
    o.store.port = int(c.get_int("port", 29500));
    o.store.is_server = c.get_bool("isServer", false);
    o.store.world_size = o.world_size;
    o.store.timeout = o.timeout;
    c.check_all_used("options");
    {
      std::lock_guard<std::mutex> lock(g_mutex);
      if (g_group || g_initializing)
        throw RuntimeError("initDistributed: already initialized; call destroyDistributed() first");
      g_initializing = true;
    }
    auto made = std::make_shared<std::shared_ptr<dist::Group>>();
    return PromiseWorker::Run(
        info.Env(), {},
        [o, made]() {
          try {
            *made = dist::Group::create(o);
          } catch (...) {
            std::lock_guard<std::mutex> lock(g_mutex);
            g_initializing = false;
            throw;
          }
          std::lock_guard<std::mutex> lock(g_mutex);
          g_group = *made;
          g_initializing = false;
        },
        [made](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value { return group_info(env, **made); });
  });
}

dist::ReduceOp read_op(const Napi::Value& v) {
  if (v.IsUndefined()) return dist::ReduceOp::Sum;
  const auto s = read_string(v, "op");
  if (s == "sum") return dist::ReduceOp::Sum;
  if (s == "mean") return dist::ReduceOp::Mean;
  if (s == "max") return dist::ReduceOp::Max;
  if (s == "min") return dist::ReduceOp::Min;
  throw range_error("op: expected 'sum', 'mean', 'max' or 'min', got '" + s + "'");
}

// allReduce(tensor, op?) and broadcast(tensor, root): in place, resolve to undefined.
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto g = require_group("allReduce");
    auto* w = TensorWrap::From(arg_or_undefined(info, 0), "tensor");
    const auto t = w->tensor();
    const auto op = read_op(arg_or_undefined(info, 1));
    if ((op == dist::ReduceOp::Mean) && !t.is_floating_point())
      throw type_error("allReduce: op 'mean' needs a floating-point tensor");
    return PromiseWorker::Run(
        info.Env(), {{info[0].As<Napi::Object>(), w}}, [g, t, op]() { g->all_reduce({t}, op); },
        [](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value { return env.Undefined(); });
  });
}

Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto g = require_group("broadcast");
    auto* w = TensorWrap::From(arg_or_undefined(info, 0), "tensor");
    const auto t = w->tensor();
    const auto root = read_int(arg_or_undefined(info, 1), "root");
    if (root < 0 || root >= g->size())
      throw range_error("broadcast: root " + std::to_string(root) + " is outside 0.." + std::to_string(g->size() - 1));
    return PromiseWorker::Run(
        info.Env(), {{info[0].As<Napi::Object>(), w}}, [g, t, root]() { g->broadcast({t}, int(root)); },
        [](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value { return env.Undefined(); });
  });
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto g = require_group("barrier");
    return PromiseWorker::Run(
        info.Env(), {}, [g]() { g->barrier(); },
        [](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value { return env.Undefined(); });
  });
}

// agree(name, value) -> Promise: rejects with a 'mismatch' error when the ranks' values differ.
Napi::Value Agree(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto g = require_group("agree");
    const auto name = read_string(arg_or_undefined(info, 0), "name");
    const auto value = read_string(arg_or_undefined(info, 1), "value");
    return PromiseWorker::Run(
        info.Env(), {}, [g, name, value]() { g->agree(name, value); },
        [](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value { return env.Undefined(); });
  });
}

// destroyDistributed() -> Promise: releases the group (closes its connections; rank 0's store
// server goes with it). Collectives already queued keep their own reference and finish first.
Napi::Value Destroy(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    std::shared_ptr<dist::Group> g;
    {
      std::lock_guard<std::mutex> lock(g_mutex);
      g = std::move(g_group);
    }
    auto held = std::make_shared<std::shared_ptr<dist::Group>>(std::move(g));
    // released on the compute thread, after every collective queued before it
    return PromiseWorker::Run(
        info.Env(), {}, [held]() { held->reset(); },
        [](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value { return env.Undefined(); });
  });
}

// distributedInfo() -> {rank, worldSize, backend, device, commSeconds, glooLayout} | null
Napi::Value Info(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto g = default_group();
    if (!g) return info.Env().Null();
    auto o = group_info(info.Env(), *g);
    o.Set("commSeconds", g->comm_seconds());
    const auto p = g->probe();
    auto po = Napi::Object::New(info.Env());
    po.Set("threads", p.threads);
    po.Set("optionThreads", p.option_threads);
    po.Set("devices", double(p.devices));
    po.Set("timeoutMs", double(p.timeout_ms));
    po.Set("backendName", p.backend_name);
    po.Set("rank", p.rank);
    po.Set("size", p.size);
    o.Set("glooLayout", po);
    return o;
  });
}

}  // namespace

std::shared_ptr<dist::Group> default_group() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_group;
}

void InitDistBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("distInit", Napi::Function::New<Init>(env, "distInit"));
  exports.Set("distAllReduce", Napi::Function::New<AllReduce>(env, "distAllReduce"));
  exports.Set("distBroadcast", Napi::Function::New<Broadcast>(env, "distBroadcast"));
  exports.Set("distBarrier", Napi::Function::New<Barrier>(env, "distBarrier"));
  exports.Set("distAgree", Napi::Function::New<Agree>(env, "distAgree"));
  exports.Set("distDestroy", Napi::Function::New<Destroy>(env, "distDestroy"));
  exports.Set("distInfo", Napi::Function::New<Info>(env, "distInfo"));
}

}  // namespace specfuse
