// kernels/avx2: the AVX2 + FMA + F16C variant. Compiled with those instructions enabled, and only
// ever called when the CPU has them (kernel_table checks cpu_supports first). Entries left empty
// fall back to the scalar variant.
#include "kernels/kernel_table.hpp"

namespace pensieve::kernels {

KernelTable avx2_kernels() {
  KernelTable table;
  table.isa = Isa::kAvx2;
  return table;
}

}  // namespace pensieve::kernels
