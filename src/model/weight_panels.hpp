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
  std::uint64_t bytes() const { return bytes_; }
  // The memory the repacked matrices live in, which must outlive them.
  std::vector<core::AnonymousMemory> take_storage() { return std::move(storage_); }

 private:
  const kernels::KernelTable* table_;
  core::ThreadPool* pool_;
  std::vector<core::AnonymousMemory> storage_;
  std::uint64_t bytes_ = 0;
};

}  // namespace pensieve::model
