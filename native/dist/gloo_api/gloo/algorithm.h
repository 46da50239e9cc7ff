// See gloo_api/gloo/context.h. ProcessGroupGloo.hpp includes gloo's algorithm header but uses
// nothing from it: the collectives run inside libtorch_cpu.so.
#pragma once
#include "gloo/context.h"
