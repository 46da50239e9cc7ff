// See gloo_api/gloo/context.h: declarations for ProcessGroupGloo.hpp, which only holds these types
// behind smart pointers (Options::devices, the send/recv buffers).
#pragma once

namespace gloo {
namespace transport {
class Device;
class UnboundBuffer;
}  // namespace transport
}  // namespace gloo
