import CKandinskyKernels

/// The variant of the C kernels that the running CPU executes fastest (AVX2 + FMA where it has
/// them), read once per process; ``Conv2d`` runs it unless a test picks another.
let bestKernelVariant = kandinsky_kernel_best_variant()
