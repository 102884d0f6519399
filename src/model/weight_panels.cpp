#include "model/weight_panels.hpp"

#include <algorithm>
#include <cstring>

#include "kernels/panel_layout.hpp"

namespace pensieve::model {
namespace {

// Panels copied between two releases of file pages: a few MiB, so that the file's copy and the
// repacked one are never both resident for more than that.
constexpr std::size_t kPanelsPerTask = 64;

}  // namespace

Status WeightPanels::repack(kernels::WeightMatrix& w, std::span<const std::uint8_t> file_bytes) {
  auto memory = core::AnonymousMemory::allocate(kernels::panels_bytes(w.rows, w.row_bytes));
  if (!memory) return memory.error().with_context("repacking weights");
  std::uint8_t* panels = memory->data();
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
  storage_.push_back(std::move(*memory));
  copied_.push_back(file_bytes);
  return {};
}

const float* WeightPanels::copy_vector(std::span<const std::uint8_t> file_bytes) {
  const auto& reads = table_->reads_panels;
  if (std::find(reads.begin(), reads.end(), true) == reads.end()) {
    return reinterpret_cast<const float*>(file_bytes.data());  // the file stays resident anyway
  }
  auto memory = core::AnonymousMemory::allocate(file_bytes.size());
  if (!memory) return reinterpret_cast<const float*>(file_bytes.data());  // keep reading the file
  std::memcpy(memory->data(), file_bytes.data(), file_bytes.size());
  const auto* copy = reinterpret_cast<const float*>(memory->data());
  storage_.push_back(std::move(*memory));
  copied_.push_back(file_bytes);
  return copy;
}

std::vector<core::AnonymousMemory> WeightPanels::take_storage() {
  for (auto bytes : copied_) core::release_file_pages(bytes);
  copied_.clear();
  return std::move(storage_);
}

}  // namespace pensieve::model
