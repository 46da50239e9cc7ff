// Turns C++ exceptions into JS errors: ArgError -> TypeError/RangeError, c10 errors -> Error with
// the message but not the C++ backtrace. Every entry point runs its body through `guard`, so no
// exception can cross into Node-API and abort the process.
#pragma once
#include <napi.h>

#include <string>

#include "core/errors.h"

namespace specfuse {

// A caught exception, reduced to what can be rebuilt as a JS error on the JS thread.
struct CaughtError {
  ErrorKind kind = ErrorKind::Error;
  std::string message;
};

// Classifies the exception currently being handled (call from a catch block).
CaughtError classify_current_exception();

Napi::Error make_js_error(Napi::Env env, const CaughtError& e);

template <typename F>
auto guard(Napi::Env env, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw make_js_error(env, classify_current_exception());
  }
}

// Argument helpers that name the argument in their errors.
[[noreturn]] void throw_type(const std::string& msg);
[[noreturn]] void throw_range(const std::string& msg);

}  // namespace specfuse
