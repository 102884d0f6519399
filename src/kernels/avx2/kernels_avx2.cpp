// kernels/avx2: the AVX2 + FMA + F16C variant. Compiled with those instructions enabled, and only
// ever called when the CPU has them (kernel_table checks cpu_supports first). Entries left empty
// fall back to the scalar variant. One file per family: quantize_avx2 (activation blocks),
// legacy_avx2 (32-value block types), mxfp4_panels_avx2 (MXFP4), kquant_avx2 (Q6_K planes),
// kquant_panels_avx2 (Q4_K, Q5_K), float_avx2 (F32, F16, BF16).
#include "kernels/avx2/avx2_common.hpp"

namespace pensieve::kernels {

KernelTable avx2_kernels() {
  KernelTable table;
  table.isa = Isa::kAvx2;
  // Filled as plain arrays and copied in whole (see MatmulSlots): no std::array member function
  // is instantiated in this file.
  avx2::MatmulSlots matmul = {};
  Repacking repacking[kTypeSlots] = {};
  avx2::add_legacy_kernels(matmul, repacking);
  avx2::add_kquant_kernels(matmul, repacking);
  avx2::add_float_kernels(matmul);
  avx2::add_kquant_panel_kernels(matmul, repacking);
  avx2::add_mxfp4_panel_kernels(matmul, repacking);
  static_assert(sizeof(matmul) == sizeof(table.matmul_rows));
  std::memcpy(&table.matmul_rows, matmul, sizeof(matmul));
  static_assert(sizeof(repacking) == sizeof(table.repacking));
  std::memcpy(&table.repacking, repacking, sizeof(repacking));
  QuantizeRowFn quantize[kActivationFormats] = {};
  quantize[static_cast<std::size_t>(ActivationFormat::kQ8x32)] = avx2::quantize_row_q8x32;
  quantize[static_cast<std::size_t>(ActivationFormat::kQ8x256)] = avx2::quantize_row_q8x256;
  static_assert(sizeof(quantize) == sizeof(table.quantize_row));
  std::memcpy(&table.quantize_row, quantize, sizeof(quantize));
  return table;
}

}  // namespace pensieve::kernels
