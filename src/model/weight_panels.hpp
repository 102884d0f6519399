// model/weight_panels: repacks, at load time, the matrices whose kernels read panels
// (kernels/panel_layout.hpp), so a forward pass never transposes weights. The repacked copy is
// as large as the tensor; the file's pages of it are released as each part is copied, so the
// model stays about as resident as the file (never both at once), and a tensor still read by
// rows (an embedding look-up of one row) faults its pages back in from the file.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/anonymous_memory.hpp"
#include "core/result.hpp"
#include "core/thread_pool.hpp"
#include "kernels/kernel_table.hpp"

namespace pensieve::model {

class WeightPanels {
 public:
  WeightPanels(const kernels::KernelTable& table, core::ThreadPool& pool) : table_(&table), pool_(&pool) {}

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
  const kernels::KernelTable* table_;
  core::ThreadPool* pool_;
  std::vector<core::AnonymousMemory> storage_;
  std::vector<std::span<const std::uint8_t>> copied_;
};

}  // namespace pensieve::model
