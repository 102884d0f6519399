// kernels/avx2/panel_passes: the loop nest shared by the AVX2 kernels that read a repacked copy
// several tokens at a time: panels (panel_layout.hpp), the rows in the vector lanes, or units of
// Q6_K rows in planes (kquant_avx2.cpp).
#pragma once

#include <cstddef>
#include <cstring>

#include "kernels/avx2/avx2_common.hpp"
#include "kernels/panel_layout.hpp"
#include "kernels/scratch.hpp"

namespace pensieve::kernels::avx2 {

inline constexpr std::size_t kPassTokens = 4;   // tokens per pass over a panel
inline constexpr std::size_t kBlockPanels = 4;  // panels that every token group meets in turn (in L2)

// Panels [first, end) × `tokens` inputs: for each block of kBlockPanels panels, each group of up
// to kMaxTokens inputs from t0, each panel p of the block, calls
// pass.template operator()<T>(p, t0) with T the group's size.
template <std::size_t kMaxTokens = kPassTokens, class Pass>
void panel_passes(std::size_t first, std::size_t end, std::size_t tokens, Pass&& pass) {
  static_assert(kMaxTokens >= 3 && kMaxTokens <= 8);
  for (std::size_t p0 = first; p0 < end; p0 += kBlockPanels) {
    const std::size_t p_end = p0 + kBlockPanels < end ? p0 + kBlockPanels : end;
    for (std::size_t t0 = 0; t0 < tokens; t0 += kMaxTokens) {
      const std::size_t n = tokens - t0 < kMaxTokens ? tokens - t0 : kMaxTokens;
      for (std::size_t p = p0; p < p_end; ++p) {
        switch (n) {
          case 1:
            pass.template operator()<1>(p, t0);
            break;
          case 2:
            pass.template operator()<2>(p, t0);
            break;
          case 3:
            pass.template operator()<3>(p, t0);
            break;
          case 4:
            if constexpr (kMaxTokens >= 4) pass.template operator()<4>(p, t0);
            break;
          case 5:
            if constexpr (kMaxTokens >= 5) pass.template operator()<5>(p, t0);
            break;
          case 6:
            if constexpr (kMaxTokens >= 6) pass.template operator()<6>(p, t0);
            break;
          case 7:
            if constexpr (kMaxTokens >= 7) pass.template operator()<7>(p, t0);
            break;
          default:
            if constexpr (kMaxTokens >= 8) pass.template operator()<8>(p, t0);
        }
      }
    }
  }
}

// The panels of rows [row_begin, row_end) of w: its repacked copy where the range starts a panel;
// otherwise (a matrix without panels, or a range off a panel boundary) the rows repacked into
// scratch slot 2, so that every call computes from the same layout and gets the same bits.
inline const std::uint8_t* panels_of(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end) {
  if (w.repacking == Repacking::kPanels && row_begin % kPanelRows == 0)
    return w.repacked + row_begin / kPanelRows * panel_stride(w.row_bytes);
  const std::size_t rows = row_end - row_begin;
  const WeightMatrix part{w.type, w.data + row_begin * w.row_bytes, rows, w.cols, w.row_bytes, nullptr};
  std::uint8_t* copy = scratch(2, panels_bytes(rows, w.row_bytes));
  repack_panels(part, 0, panel_count(rows), copy);
  return copy;
}

// Rows [row_begin, row_end) of w (from panels_of) × `tokens` inputs, through panel_passes: for each
// panel and group of up to kMaxTokens inputs from t0, pass.template operator()<T>(panel, n, t0, r)
// with r the panel's first row within the range and n its stored rows (up to 16).
template <std::size_t kMaxTokens, class Pass>
void panel_matmul(const WeightMatrix& w, std::size_t row_begin, std::size_t row_end, std::size_t tokens,
                  Pass&& pass) {
  const std::size_t stride = panel_stride(w.row_bytes);
  const std::size_t rows = row_end - row_begin;
  const std::uint8_t* panels = panels_of(w, row_begin, row_end);
  panel_passes<kMaxTokens>(0, panel_count(rows), tokens, [&]<std::size_t T>(std::size_t p, std::size_t t0) {
    const std::size_t r = p * kPanelRows;
    pass.template operator()<T>(panels + p * stride, rows - r < kPanelRows ? rows - r : kPanelRows, t0, r);
  });
}

// One panel's accumulators (acc[h][t]: half panel h, token t) to out + (t0 + t)·out_stride,
// `rows` of its 16 rows.
template <std::size_t T>
void store_panel_rows(const __m256 (&acc)[2][T], std::size_t rows, std::size_t t0, float* out,
                      std::size_t out_stride) {
  for (std::size_t t = 0; t < T; ++t) {
    alignas(32) float lanes[16];
    _mm256_store_ps(lanes, acc[0][t]);
    _mm256_store_ps(lanes + 8, acc[1][t]);
    std::memcpy(out + (t0 + t) * out_stride, lanes, rows * sizeof(float));
  }
}

}  // namespace pensieve::kernels::avx2
