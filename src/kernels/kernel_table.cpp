#include "kernels/kernel_table.hpp"

namespace pensieve::kernels {
namespace {

KernelTable merged_over_scalar(KernelTable table, const KernelTable& scalar) {
  for (std::size_t i = 0; i < kTypeSlots; ++i) {
    if (table.matmul_rows[i] == nullptr) table.matmul_rows[i] = scalar.matmul_rows[i];
  }
  for (std::size_t i = 0; i < kActivationFormats; ++i) {
    if (table.quantize_row[i] == nullptr) table.quantize_row[i] = scalar.quantize_row[i];
  }
  if (table.swiglu == nullptr) table.swiglu = scalar.swiglu;
  table.attention = merged_attention_kernels(table.attention, scalar.attention);
  return table;
}

template <typename AddFn>
KernelTable with(KernelTable table, AddFn add) {
  add(table);
  return table;
}

// Attention's inner loops live in their own files per variant (attention_kernels.hpp).
KernelTable with_attention(KernelTable table, const AttentionKernels& attention) {
  table.attention = attention;
  return table;
}

}  // namespace

const KernelTable& kernel_table(Isa isa) {
  static const KernelTable scalar = with_attention(scalar_kernels(), scalar_attention_kernels());
  // A variant's own code (even filling its table) may use its instructions: never run it on a CPU
  // without them.
  static const KernelTable avx2 = [] {
    if (!cpu_supports(Isa::kAvx2)) return scalar;
    return merged_over_scalar(
        with_attention(with(avx2_kernels(), add_avx2_elementwise), avx2_attention_kernels()), scalar);
  }();
  static const KernelTable avx512 = [] {
    if (!cpu_supports(Isa::kAvx512)) return scalar;
    return merged_over_scalar(
        with_attention(with(avx512_kernels(), add_avx512_elementwise), avx512_attention_kernels()), scalar);
  }();
  switch (isa) {
    case Isa::kScalar: return scalar;
    case Isa::kAvx2: return avx2;
    case Isa::kAvx512: return avx512;
  }
  return scalar;
}

const KernelTable& exact_kernels() {
  static const KernelTable exact = [] {
    KernelTable table = scalar_float_kernels();
    table.exact = true;
    table.attention = scalar_attention_kernels();
    return table;
  }();
  return exact;
}

const KernelTable& active_kernels() {
  static const KernelTable& table = kernel_table(active_isa());
  return table;
}

}  // namespace pensieve::kernels
