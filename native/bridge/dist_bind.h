// JS bindings of native/dist: the process's default process group (like torch.distributed's
// default group), its collectives as Promises run on the compute thread, and the group the
// trainer averages gradients over.
#pragma once
#include <napi.h>

#include <memory>

#include "dist/group.h"

namespace specfuse {

void InitDistBindings(Napi::Env env, Napi::Object exports);
// The default group, or null before initDistributed / after destroyDistributed.
std::shared_ptr<dist::Group> default_group();

}  // namespace specfuse
