#include "dist/dist_errors.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cctype>

namespace specfuse::dist {
namespace {

bool contains(std::string text, const char* what) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return text.find(what) != std::string::npos;
}

// The first line of c10d's message: the rest is a C++ backtrace or an exception chain.
std::string first_line(const std::string& s) {
  auto end = s.find('\n');
  return end == std::string::npos ? s : s.substr(0, end);
}

}  // namespace

void rethrow_classified(const std::string& during) {
  std::string msg;
  try {
    throw;
  } catch (const DistError&) {
    throw;
  } catch (const c10::Error& e) {
    msg = first_line(e.what_without_backtrace());
  } catch (const std::exception& e) {
    msg = first_line(e.what());
  } catch (...) {
    msg = "unknown error";
  }
  // gloo and c10d's socket layer word the same conditions in several ways; their messages are the
  // only signal they give (c10::DistNetworkError covers both a refused connect and a reset peer).
  std::string code = "failed";
  if (contains(msg, "timed out") || contains(msg, "timeout")) code = "timeout";
  else if (contains(msg, "connection closed by peer") || contains(msg, "connection reset") ||
           contains(msg, "broken pipe") || contains(msg, "read error") || contains(msg, "write error") ||
           contains(msg, "connection refused") || contains(msg, "econnreset") || contains(msg, "epipe"))
    code = "peer-lost";
  throw DistError(code, during + ": " + msg);
}

}  // namespace specfuse::dist
