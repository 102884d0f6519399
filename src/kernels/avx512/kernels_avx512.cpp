// kernels/avx512: the AVX-512 (F/BW/VL/DQ + VNNI) variant. Compiled with those instructions
// enabled, and only ever called when the CPU has them. Entries left empty fall back to the scalar
// variant.
#include "kernels/kernel_table.hpp"

namespace pensieve::kernels {

KernelTable avx512_kernels() {
  KernelTable table;
  table.isa = Isa::kAvx512;
  return table;
}

}  // namespace pensieve::kernels
