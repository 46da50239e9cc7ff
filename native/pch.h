// Precompiled header: libtorch's headers dominate compile time (about 25 s per translation unit
// without it), so every .cc gets them from here.
#pragma once
#include <torch/torch.h>
