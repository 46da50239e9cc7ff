#include "bridge/napi_errors.h"

#include <c10/util/Exception.h>

#include <new>

namespace specfuse {

CaughtError classify_current_exception() {
  try {
    throw;
  } catch (const ArgError& e) {
    return {e.kind, e.what()};
  } catch (const c10::TypeError& e) {
    return {ErrorKind::TypeError, e.what_without_backtrace()};
  } catch (const c10::IndexError& e) {
    return {ErrorKind::RangeError, e.what_without_backtrace()};
  } catch (const c10::ValueError& e) {
    return {ErrorKind::RangeError, e.what_without_backtrace()};
  } catch (const c10::OutOfMemoryError& e) {
    return {ErrorKind::Error, std::string("out of memory: ") + e.what_without_backtrace()};
  } catch (const c10::Error& e) {
    return {ErrorKind::Error, e.what_without_backtrace()};
  } catch (const std::bad_alloc&) {
    return {ErrorKind::RangeError, "out of memory: allocation failed"};
  } catch (const std::exception& e) {
    return {ErrorKind::Error, e.what()};
  } catch (...) {
    return {ErrorKind::Error, "unknown native error"};
  }
}

Napi::Error make_js_error(Napi::Env env, const CaughtError& e) {
  switch (e.kind) {
    case ErrorKind::TypeError: return Napi::TypeError::New(env, e.message);
    case ErrorKind::RangeError: return Napi::RangeError::New(env, e.message);
    default: return Napi::Error::New(env, e.message);
  }
}

void throw_type(const std::string& msg) { throw type_error(msg); }
void throw_range(const std::string& msg) { throw range_error(msg); }

}  // namespace specfuse
