// kernels/avx512: the AVX-512 (F/BW/VL/DQ + VNNI) variant. Compiled with those instructions
// enabled, and only ever called when the CPU has them. Entries left empty fall back to the scalar
// variant. The entries live in the files beside this one:
//   quantize_avx512  the activation quantizers (bitwise the scalar ones)
//   int_panels       integer matmul over panels of 16 weight rows (VNNI), with
//   legacy_avx512    the 32-value block types, and
//   kquants_avx512   the K-quants
//   float_avx512     F32, F16 and BF16 weights against float activations
#include "kernels/avx512/entries.hpp"

namespace pensieve::kernels {

KernelTable avx512_kernels() {
  KernelTable table;
  table.isa = Isa::kAvx512;
  table.quantize_row[static_cast<std::size_t>(ActivationFormat::kQ8x32)] = avx512::quantize_row_q8x32;
  table.quantize_row[static_cast<std::size_t>(ActivationFormat::kQ8x256)] = avx512::quantize_row_q8x256;
  avx512::add_legacy_kernels(table);
  avx512::add_kquant_kernels(table);
  avx512::add_float_kernels(table);
  return table;
}

}  // namespace pensieve::kernels
