#include "model/weight_panels.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "kernels/panel_layout.hpp"

namespace pensieve::model {
namespace {

// Panels copied between two releases of file pages: a few MiB, so that the file's copy and the
// repacked one are never both resident for more than that.
constexpr std::size_t kPanelsPerTask = 64;

// Copies start on a cache line (the kernels' panels want 64-byte alignment).
constexpr std::size_t kCopyAlign = 64;

std::size_t aligned(std::size_t bytes) {
  return (bytes + kCopyAlign - 1) / kCopyAlign * kCopyAlign;
}

}  // namespace

WeightPanels::WeightPanels(const kernels::KernelTable& table, core::ThreadPool& pool,
                           const gguf::Contents& contents)
    : table_(&table), pool_(&pool) {
  // An upper bound: every matrix of a repacked type, and every float tensor (copy_vector), whether
  // or not the architecture binds it. Pages never written stay free.
  for (const gguf::TensorInfo& t : contents.tensors) {
    if (t.type == tensor::TensorType::kF32) reserve_bytes_ += aligned(t.data.size());
    if (!wants(t.type) || t.dims[0] == 0) continue;
    const auto row_bytes = tensor::bytes_for(t.type, t.dims[0]);
    if (row_bytes) reserve_bytes_ += aligned(kernels::panels_bytes(t.row_count(), *row_bytes));
  }
}

std::uint8_t* WeightPanels::carve(std::size_t bytes) {
  if (reserved_.data() == nullptr && reserve_bytes_ != 0) {
    // Reserved on first use: a table that repacks nothing never asks.
    if (auto memory = core::AnonymousMemory::allocate(reserve_bytes_)) reserved_ = std::move(*memory);
    reserve_bytes_ = 0;
  }
  if (reserved_.data() != nullptr && reserved_.size() - reserved_used_ >= aligned(bytes)) {
    std::uint8_t* at = reserved_.data() + reserved_used_;
    reserved_used_ += aligned(bytes);
    return at;
  }
  auto memory = core::AnonymousMemory::allocate(bytes);
  if (!memory) return nullptr;
  storage_.push_back(std::move(*memory));
  return storage_.back().data();
}

Status WeightPanels::repack(kernels::WeightMatrix& w, std::span<const std::uint8_t> file_bytes) {
  const std::size_t bytes = kernels::panels_bytes(w.rows, w.row_bytes);
  std::uint8_t* panels = carve(bytes);
  if (panels == nullptr) {
    return make_error(ErrorCode::kResourceExhausted,
                      "repacking weights: cannot allocate " + std::to_string(bytes >> 20) + " MiB");
  }
  const std::size_t n_panels = kernels::panel_count(w.rows);
  const std::size_t n_tasks = (n_panels + kPanelsPerTask - 1) / kPanelsPerTask;
  const std::size_t panel_file_bytes = kernels::kPanelRows * w.row_bytes;
  pool_->parallel_for(n_tasks, [&](std::size_t task) {
    const std::size_t first = task * kPanelsPerTask;
    const std::size_t end = std::min(n_panels, first + kPanelsPerTask);
    kernels::repack_panels(w, first, end, panels);
    const std::size_t from = first * panel_file_bytes;
    const std::size_t to = std::min(file_bytes.size(), end * panel_file_bytes);
    core::release_file_pages(file_bytes.subspan(from, to - from));
  });
  // The pages that straddled two tasks' parts.
  core::release_file_pages(file_bytes);
  w.panels = panels;
  copied_.push_back(file_bytes);
  return {};
}

const float* WeightPanels::copy_vector(std::span<const std::uint8_t> file_bytes) {
  const auto& reads = table_->reads_panels;
  if (std::find(reads.begin(), reads.end(), true) == reads.end()) {
    return reinterpret_cast<const float*>(file_bytes.data());  // the file stays resident anyway
  }
  std::uint8_t* copy = carve(file_bytes.size());
  if (copy == nullptr) return reinterpret_cast<const float*>(file_bytes.data());  // keep reading the file
  std::memcpy(copy, file_bytes.data(), file_bytes.size());
  copied_.push_back(file_bytes);
  return reinterpret_cast<const float*>(copy);
}

std::vector<core::AnonymousMemory> WeightPanels::take_storage() {
  for (auto bytes : copied_) core::release_file_pages(bytes);
  copied_.clear();
  if (reserved_.data() != nullptr) storage_.push_back(std::move(reserved_));
  reserved_used_ = 0;
  return std::move(storage_);
}

}  // namespace pensieve::model
