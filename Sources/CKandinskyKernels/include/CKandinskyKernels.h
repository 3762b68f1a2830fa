#ifndef CKANDINSKY_KERNELS_H
#define CKANDINSKY_KERNELS_H

// The umbrella header of the module: a build notices a new kernel header through this file.
// Beside the kernels, one allocator setting for the command-line tool (large_allocations.h).
#include "kernel_variant.h"
#include "annulus_pair_distances.h"
#include "winograd_f4x3.h"
#include "direct_conv3x3.h"
#include "conv3x3_weight_gradient.h"
#include "large_allocations.h"

#endif
