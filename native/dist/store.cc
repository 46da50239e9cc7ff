#include "dist/store.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "core/errors.h"
#include "dist/dist_errors.h"

namespace specfuse::dist {

c10::intrusive_ptr<c10d::Store> make_store(const StoreSpec& s) {
  if (s.world_size < 1) throw range_error("distributed: worldSize must be >= 1");
  c10::intrusive_ptr<c10d::Store> store;
  try {
    if (s.kind == "file") {
      if (s.path.empty()) throw range_error("distributed: store.path: expected a file path for the file store");
      store = c10::make_intrusive<c10d::FileStore>(s.path, s.world_size);
    } else if (s.kind == "tcp") {
      if (s.host.empty()) throw range_error("distributed: store.host (MASTER_ADDR): expected a host name or address");
      if (s.port < 0 || s.port > 65535)
        throw range_error("distributed: store.port (MASTER_PORT): expected 0..65535, got " + std::to_string(s.port));
      c10d::TCPStoreOptions o;
      o.port = uint16_t(s.port);
      o.isServer = s.is_server;
      o.numWorkers = size_t(s.world_size);
      // Python's env:// waits in init_process_group, not in the store: so does initDistributed
      // (the fingerprint exchange), which also lets a Python rank join the same store.
      o.waitWorkers = false;
      o.timeout = s.timeout;
      o.multiTenant = true;
      store = c10::make_intrusive<c10d::TCPStore>(s.host, o);
    } else {
      throw range_error("distributed: store.kind: expected 'file' or 'tcp', got '" + s.kind + "'");
    }
  } catch (const ArgError&) {
    throw;
  } catch (...) {
    rethrow_classified("connecting to the store");
  }
  store->setTimeout(s.timeout);
  return store;
}

c10::intrusive_ptr<c10d::Store> prefixed(const std::string& prefix, const c10::intrusive_ptr<c10d::Store>& store) {
  return c10::make_intrusive<c10d::PrefixStore>(prefix, store);
}

}  // namespace specfuse::dist
