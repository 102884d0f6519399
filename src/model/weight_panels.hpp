// model/weight_panels: repacks, at load time, the matrices whose kernels read panels
// (kernels/panel_layout.hpp), so a forward pass never transposes weights. The repacked copy is
// as large as the tensor; the file's pages of it are released as each part is copied, so the
// model stays about as resident as the file (never both at once), and a tensor still read by
// rows (an embedding look-up of one row) faults its pages back in from the file.
//
// The copies are carved end to end from one mapping reserved for all of them, so that huge pages
// cover them whole. Mapped one by one, each matrix lost the huge pages at its unaligned ends (a
// 2.4 MiB matrix could get none): a third of a Q4_0 Llama-3.2-1B sat on 4 KiB pages, and decode,
// which streams every weight once per token, ran 2.4% slower.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/anonymous_memory.hpp"
#include "core/result.hpp"
#include "core/thread_pool.hpp"
#include "gguf/reader.hpp"
#include "kernels/kernel_table.hpp"

namespace pensieve::model {

class WeightPanels {
 public:
  // `contents`: the file whose tensors will be bound, for the size of the mapping to reserve.
  WeightPanels(const kernels::KernelTable& table, core::ThreadPool& pool, const gguf::Contents& contents);

  // Whether matrices of `type` are repacked for this table.
  bool wants(tensor::TensorType type) const { return table_->reads_panels_of(type); }
  // Repacks w (whose rows are `file_bytes` of a read-only file mapping) and sets w.panels.
  Status repack(kernels::WeightMatrix& w, std::span<const std::uint8_t> file_bytes);
  // A copy of the n floats at `file_bytes` (norm weights and the like, read on every pass): with
  // the matrices repacked, nothing else would keep the file's pages of them, which a large page
  // cache folio shares with the neighbouring matrices (a read maps the whole folio back).
  const float* copy_vector(std::span<const std::uint8_t> file_bytes);
  // The memory the repacked matrices and copies live in, which must outlive them. Releases again
  // every file page that was copied (reading one tensor can map a neighbour's pages back).
  std::vector<core::AnonymousMemory> take_storage();

 private:
  // `bytes` of the reserved mapping (64-byte aligned), or of a mapping of their own once it is
  // used up; nullptr when neither can be had.
  std::uint8_t* carve(std::size_t bytes);

  const kernels::KernelTable* table_;
  core::ThreadPool* pool_;
  std::size_t reserve_bytes_ = 0;  // every copy's bytes, reserved at the first carve
  core::AnonymousMemory reserved_;
  std::size_t reserved_used_ = 0;
  std::vector<core::AnonymousMemory> storage_;
  std::vector<std::span<const std::uint8_t>> copied_;
};

}  // namespace pensieve::model
