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
  return table;
}

template <typename AddFn>
KernelTable with(KernelTable table, AddFn add) {
  add(table);
  return table;
}

}  // namespace

const KernelTable& kernel_table(Isa isa) {
  static const KernelTable scalar = scalar_kernels();
  // A variant's own code (even filling its table) may use its instructions: never run it on a CPU
  // without them.
  static const KernelTable avx2 = cpu_supports(Isa::kAvx2)
                                      ? merged_over_scalar(with(avx2_kernels(), add_avx2_elementwise), scalar)
                                      : scalar;
  static const KernelTable avx512 =
      cpu_supports(Isa::kAvx512) ? merged_over_scalar(with(avx512_kernels(), add_avx512_elementwise), scalar)
                                 : scalar;
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
    return table;
  }();
  return exact;
}

const KernelTable& active_kernels() {
  static const KernelTable& table = kernel_table(active_isa());
  return table;
}

}  // namespace pensieve::kernels
