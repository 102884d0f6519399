// model/weight_copies: at load time, copies the weights a forward pass streams into memory of
// the process's own, backed by huge pages: the matrices whose kernels read a repacked layout are
// repacked (kernels/repacking.hpp), so a forward pass never rearranges weights; the other matrices are
// copied as they are, and so are the float vectors (norm weights and the like). A copy is as large
// as the tensor, and the file's pages of it are released as each part is copied, so the model
// stays about as resident as the file (never both at once).
//
// Why copy what needs no repacking: decode reads every weight once per token, and a file mapping
// is mostly mapped with 4 KiB pages, a TLB miss every 4 KiB. From huge pages, a Q6_K matrix
// decoded 3.0% faster and an F16 one 3.9% (in-process, alternated, Zen 3). The copies are carved
// end to end from one mapping reserved for them all: mapped one by one, each lost the huge pages
// at its unaligned ends (a 2.4 MiB matrix could get none), a third of a Q4_0 Llama-3.2-1B sat on
// 4 KiB pages, and its decode ran 2.4% slower.
//
// A matrix only looked up (an untied token embedding: one row a token) stays in the file, repacked
// layout or not (no kernel reads it); its rows fault in from the file as they are read.
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

class WeightCopies {
 public:
  // `contents`: the file whose tensors will be bound, for the size of the mapping to reserve.
  // Copies are made only for a table that reads repacked layouts (the fast kernels); the
  // reference kernels read everything from the file.
  WeightCopies(const kernels::KernelTable& table, core::ThreadPool& pool, const gguf::Contents& contents);

  // Whether matrices of `type` are repacked for this table.
  bool wants_repacked(tensor::TensorType type) const {
    return table_->repacking_of(type) != kernels::Repacking::kNone;
  }
  // Repacks w (whose rows are `file_bytes` of a read-only file mapping) into the table's layout
  // for its type and sets w.repacked and w.repacking.
  Status repack(kernels::WeightMatrix& w, std::span<const std::uint8_t> file_bytes);
  // Copies w's rows as they are and points w.data at the copy (w left as it was when there is
  // nothing to copy for, or no memory).
  void copy_rows(kernels::WeightMatrix& w, std::span<const std::uint8_t> file_bytes);
  // A copy of the n floats at `file_bytes` (norm weights and the like, read on every pass): with
  // the matrices copied, nothing else would keep the file's pages of them, which a large page
  // cache folio shares with the neighbouring matrices (a read maps the whole folio back).
  const float* copy_vector(std::span<const std::uint8_t> file_bytes);
  // The memory the copies live in, which must outlive them. Releases again every file page that
  // was copied (reading one tensor can map a neighbour's pages back).
  std::vector<core::AnonymousMemory> take_storage();

 private:
  // `bytes` of the reserved mapping (64-byte aligned), or of a mapping of their own once it is
  // used up; nullptr when neither can be had.
  std::uint8_t* carve(std::size_t bytes);
  // Runs copy(part) for each of `parts` parts of `file_bytes` (`part_bytes` each, the last
  // shorter) on the pool, releasing a part's file pages once it is copied.
  template <class Copy>
  void copy_in_parts(std::span<const std::uint8_t> file_bytes, std::size_t part_bytes, std::size_t parts,
                     const Copy& copy);

  const kernels::KernelTable* table_;
  core::ThreadPool* pool_;
  bool copies_ = false;            // whether this table gets copies at all
  std::size_t reserve_bytes_ = 0;  // every copy's bytes, reserved at the first carve
  core::AnonymousMemory reserved_;
  std::size_t reserved_used_ = 0;
  std::vector<core::AnonymousMemory> storage_;
  std::vector<std::span<const std::uint8_t>> copied_;
};

}  // namespace pensieve::model
