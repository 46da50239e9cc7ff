// See gloo_api/gloo/context.h. ProcessGroupGloo.hpp includes gloo's error header but names none of
// its exception types; gloo's errors reach us wrapped as c10::Error or std::exception.
#pragma once
#include <stdexcept>
