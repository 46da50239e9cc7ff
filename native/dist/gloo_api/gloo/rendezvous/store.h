// See gloo_api/gloo/context.h. c10d::ProcessGroupGloo::GlooStore derives from this class and marks
// these four functions `override`, so they must be declared. specfuse never creates a GlooStore
// (ProcessGroupGloo's constructor does, inside libtorch, with gloo's real class): no vtable or
// typeinfo of this class is emitted by us, which test/dist/gloo-abi.test.ts checks on the addon's
// symbol table. GLOO_STORE_HAS_STORE_V2 stays undefined: the extended API is not declared.
#pragma once
#include <chrono>
#include <string>
#include <vector>

namespace gloo {
namespace rendezvous {

class Store {
 public:
  virtual ~Store() = default;
  virtual void set(const std::string& key, const std::vector<char>& data) = 0;
  virtual std::vector<char> get(const std::string& key) = 0;
  virtual void wait(const std::vector<std::string>& keys) = 0;
  virtual void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) = 0;
};

}  // namespace rendezvous
}  // namespace gloo
