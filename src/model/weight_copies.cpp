#include "model/weight_copies.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "kernels/repacking.hpp"

namespace pensieve::model {
namespace {

// Bytes copied between two releases of file pages: a few MiB, so that the file's copy and ours are
// never both resident for more than that. A repacked copy goes by whole units of its layout.
constexpr std::size_t kCopyPartBytes = std::size_t{4} << 20;

// Copies start on a cache line (the kernels' panels want 64-byte alignment).
constexpr std::size_t kCopyAlign = 64;

std::size_t aligned(std::size_t bytes) {
  return (bytes + kCopyAlign - 1) / kCopyAlign * kCopyAlign;
}

}  // namespace

WeightCopies::WeightCopies(const kernels::KernelTable& table, core::ThreadPool& pool,
                           const gguf::Contents& contents)
    : table_(&table), pool_(&pool) {
  const auto& layouts = table.repacking;
  copies_ = std::any_of(layouts.begin(), layouts.end(),
                        [](kernels::Repacking r) { return r != kernels::Repacking::kNone; });
  if (!copies_) return;
  // An upper bound: every tensor, repacked or not, whether or not the architecture binds it (and
  // a looked-up matrix is not copied). Pages never written stay free.
  for (const gguf::TensorInfo& t : contents.tensors) {
    std::size_t bytes = t.data.size();
    if (wants_repacked(t.type) && t.dims[0] != 0) {
      if (const auto row_bytes = tensor::bytes_for(t.type, t.dims[0])) {
        bytes =
            std::max(bytes, kernels::repacked_bytes(table.repacking_of(t.type), t.row_count(), *row_bytes));
      }
    }
    reserve_bytes_ += aligned(bytes);
  }
}

std::uint8_t* WeightCopies::carve(std::size_t bytes) {
  if (reserved_.data() == nullptr && reserve_bytes_ != 0) {
    if (auto memory = core::AnonymousMemory::allocate(reserve_bytes_)) reserved_ = std::move(*memory);
    reserve_bytes_ = 0;  // one try: without it, each copy is mapped on its own
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

template <class Copy>
void WeightCopies::copy_in_parts(std::span<const std::uint8_t> file_bytes, std::size_t part_bytes,
                                 std::size_t parts, const Copy& copy) {
  pool_->parallel_for(parts, [&](std::size_t part) {
    copy(part);
    const std::size_t from = std::min(file_bytes.size(), part * part_bytes);
    const std::size_t to = std::min(file_bytes.size(), (part + 1) * part_bytes);
    core::release_file_pages(file_bytes.subspan(from, to - from));
  });
  // The pages that straddled two parts.
  core::release_file_pages(file_bytes);
  copied_.push_back(file_bytes);
}

Status WeightCopies::repack(kernels::WeightMatrix& w, std::span<const std::uint8_t> file_bytes) {
  const kernels::Repacking layout = table_->repacking_of(w.type);
  const std::size_t bytes = kernels::repacked_bytes(layout, w.rows, w.row_bytes);
  std::uint8_t* copy = carve(bytes);
  if (copy == nullptr) {
    return make_error(ErrorCode::kResourceExhausted,
                      "repacking weights: cannot allocate " + std::to_string(bytes >> 20) + " MiB");
  }
  const std::size_t units = kernels::repacked_units(layout, w.rows);
  const std::size_t unit_bytes = kernels::repacked_unit_rows(layout) * w.row_bytes;
  const std::size_t units_per_part = std::max<std::size_t>(1, kCopyPartBytes / unit_bytes);
  copy_in_parts(file_bytes, units_per_part * unit_bytes, (units + units_per_part - 1) / units_per_part,
                [&](std::size_t part) {
                  const std::size_t first = part * units_per_part;
                  kernels::repack(layout, w, first, std::min(units, first + units_per_part), copy);
                });
  w.repacked = copy;
  w.repacking = layout;
  return {};
}

void WeightCopies::copy_rows(kernels::WeightMatrix& w, std::span<const std::uint8_t> file_bytes) {
  if (!copies_ || file_bytes.empty()) return;
  std::uint8_t* copy = carve(file_bytes.size());
  if (copy == nullptr) return;  // keep reading the file
  const std::size_t parts = (file_bytes.size() + kCopyPartBytes - 1) / kCopyPartBytes;
  copy_in_parts(file_bytes, kCopyPartBytes, parts, [&](std::size_t part) {
    const std::size_t from = part * kCopyPartBytes;
    std::memcpy(copy + from, file_bytes.data() + from, std::min(kCopyPartBytes, file_bytes.size() - from));
  });
  w.data = copy;
}

const float* WeightCopies::copy_vector(std::span<const std::uint8_t> file_bytes) {
  if (!copies_) return reinterpret_cast<const float*>(file_bytes.data());  // the file stays resident anyway
  std::uint8_t* copy = carve(file_bytes.size());
  if (copy == nullptr) return reinterpret_cast<const float*>(file_bytes.data());  // keep reading the file
  std::memcpy(copy, file_bytes.data(), file_bytes.size());
  copied_.push_back(file_bytes);
  return reinterpret_cast<const float*>(copy);
}

std::vector<core::AnonymousMemory> WeightCopies::take_storage() {
  for (auto bytes : copied_) core::release_file_pages(bytes);
  copied_.clear();
  if (reserved_.data() != nullptr) storage_.push_back(std::move(reserved_));
  reserved_used_ = 0;
  return std::move(storage_);
}

}  // namespace pensieve::model
