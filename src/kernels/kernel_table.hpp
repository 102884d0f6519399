// kernels/kernel_table: the one seam between the model and the kernels. Each instruction-set
// variant fills a KernelTable with its functions; an entry a variant leaves empty falls back to the
// scalar variant's, so a variant can be written one type at a time. The model only ever calls
// through the table of the active variant (or, in tests, of a chosen one).
//
// Contract for every matmul entry, which the property tests hold each variant to:
// - the result for (row r, input t) does not depend on which other rows or inputs share the call
//   (the same bits whether a token is computed alone or in a batch of 512, on any thread split);
// - it matches the scalar variant within float rounding of the accumulation order.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "kernels/activations.hpp"
#include "kernels/attention_kernels.hpp"
#include "kernels/isa.hpp"
#include "kernels/matmul.hpp"

namespace pensieve::kernels {

// out[t·out_stride + r] = Σ_c W[r][c] · x_t[c] for r in [row_begin, row_end), t < x.rows.
// x is in the table's activation_for(w.type).
using MatmulRowsFn = void (*)(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end,
                              const Activations& x, float* out, std::size_t out_stride);

// Quantizes one row of `cols` floats (a whole number of the format's blocks) into `out`.
using QuantizeRowFn = void (*)(const float* x, std::size_t cols, std::uint8_t* out);

inline constexpr std::size_t kTypeSlots = 40;  // TensorType ids are below this

// out[i] = silu(gate[i]) · up[i] for i < n; out may alias gate or up.
using SwigluFn = void (*)(const float* gate, const float* up, std::size_t n, float* out);

struct KernelTable {
  Isa isa = Isa::kScalar;
  bool exact = false;  // the float oracle: every type with float activations
  std::array<MatmulRowsFn, kTypeSlots> matmul_rows{};  // by TensorType id; empty: not provided
  // By TensorType id: the layout the matmul entry reads from WeightMatrix::repacked when it is set
  // (repacking.hpp), so a model repacks these types' matrices at load time; kNone: the rows.
  std::array<Repacking, kTypeSlots> repacking{};
  std::array<QuantizeRowFn, kActivationFormats> quantize_row{};  // by ActivationFormat; F32 empty
  SwigluFn swiglu = nullptr;
  AttentionKernels attention;  // tiled attention's inner loops (attention_kernels.hpp)

  MatmulRowsFn matmul_for(tensor::TensorType type) const {
    return matmul_rows[static_cast<std::size_t>(type)];
  }
  Repacking repacking_of(tensor::TensorType type) const { return repacking[static_cast<std::size_t>(type)]; }
  ActivationFormat activation_for(tensor::TensorType type) const {
    return exact ? ActivationFormat::kF32 : activation_format_of(type);
  }
};

// The table of `isa` with every empty entry filled from the scalar table. `isa` must be supported
// by the CPU (cpu_supports).
const KernelTable& kernel_table(Isa isa);
// The table of active_isa().
const KernelTable& active_kernels();
// The float oracle: each weight row dequantized and dotted with the float input, no activation
// quantization — what the fast tables are an approximation of (pensieve logits --exact).
const KernelTable& exact_kernels();

// Each variant's own entries (defined in its directory; entries it lacks stay empty). The
// element-wise ops of a variant are added by their own file, apart from its matmuls.
KernelTable scalar_kernels();
void add_avx2_elementwise(KernelTable& table);
void add_avx512_elementwise(KernelTable& table);
KernelTable scalar_float_kernels();  // every dequantizable type through float dot products
KernelTable avx2_kernels();
KernelTable avx512_kernels();

}  // namespace pensieve::kernels
