// Distributed failures as one error type with a stable code, so that callers (and the TypeScript
// DistributedError) can tell a peer that never came from one that died or a misconfigured run.
#pragma once
#include <stdexcept>
#include <string>

namespace specfuse::dist {

// The codes, also the message prefix "distributed (<code>): " that lib/distributed.ts parses.
//  timeout      a peer did not arrive or answer within the timeout
//  peer-lost    a peer closed its connection (crashed, killed, or left)
//  mismatch     the ranks disagree on the configuration (world size, backend, options)
//  unsupported  a backend this build cannot run (NCCL without CUDA)
//  failed       anything else c10d reported
struct DistError : std::runtime_error {
  std::string code;
  DistError(std::string c, const std::string& msg)
      : std::runtime_error("distributed (" + c + "): " + msg), code(std::move(c)) {}
};

// Rethrows the exception being handled as a DistError with a code (call from a catch block).
[[noreturn]] void rethrow_classified(const std::string& during);

}  // namespace specfuse::dist
