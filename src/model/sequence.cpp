#include "model/sequence.hpp"

#include <algorithm>

#include "kernels/kv_cache.hpp"
#include "model/model.hpp"

namespace pensieve::model {
SequenceLayout SequenceLayout::plan(const Hyperparams& hp, std::uint32_t n_ctx,
                                    const SequenceOptions& options, unsigned threads) {
  const std::size_t cached = std::size_t{hp.n_layer} * hp.n_head_kv * n_ctx;  // head rows per cache
  SequenceLayout layout;
  layout.n_ctx = n_ctx;
  layout.kv_type = options.kv_type;
  layout.kv_bytes = cached * (kernels::kv_row_bytes(options.kv_type, hp.head_dim_k) +
                              kernels::kv_row_bytes(options.kv_type, hp.head_dim_v));
  if (options.max_batch != 0) layout.workspace = WorkspaceLayout::plan(hp, options.max_batch, threads);
  return layout;
}

Sequence::Sequence(const Model& model, const Hyperparams& hp, const SequenceLayout& layout)
    : model_(&model), n_ctx_(layout.n_ctx), kv_type_(layout.kv_type) {
  const std::size_t cached = std::size_t{hp.n_layer} * hp.n_head_kv * n_ctx_;
  k_cache_.resize(cached * kernels::kv_row_bytes(kv_type_, hp.head_dim_k));
  v_cache_.resize(cached * kernels::kv_row_bytes(kv_type_, hp.head_dim_v));
  if (layout.workspace.max_rows != 0) workspace_.reset(new Workspace(model, hp, layout.workspace));
}

kernels::KvLayer Sequence::kv_layer(int layer, const Hyperparams& hp) const {
  const std::size_t rows = std::size_t{hp.n_head_kv} * n_ctx_;  // head rows per layer
  const auto l = static_cast<std::size_t>(layer);
  return {
      kv_type_,
      // The cache is the sequence's own; const only keeps callers from changing its size.
      const_cast<std::uint8_t*>(k_cache_.data()) + l * rows * kernels::kv_row_bytes(kv_type_, hp.head_dim_k),
      const_cast<std::uint8_t*>(v_cache_.data()) + l * rows * kernels::kv_row_bytes(kv_type_, hp.head_dim_v),
      n_ctx_, hp.n_head_kv, hp.head_dim_k, hp.head_dim_v};
}

std::uint64_t Sequence::prefix_bytes(const Hyperparams& hp, kernels::KvType kv_type, std::uint32_t n) {
  return std::uint64_t{n} * hp.n_layer * hp.n_head_kv *
         (kernels::kv_row_bytes(kv_type, hp.head_dim_k) + kernels::kv_row_bytes(kv_type, hp.head_dim_v));
}

Status Sequence::check_prefix(std::uint32_t n, std::uint32_t limit, const char* what) const {
  if (n % kPrefixGranularity != 0) {
    return make_error(ErrorCode::kInvalidArgument, "a saved prefix is a multiple of " +
                                                       std::to_string(kPrefixGranularity) + " tokens, not " +
                                                       std::to_string(n));
  }
  if (n > limit) {
    return make_error(ErrorCode::kOutOfRange, "a prefix of " + std::to_string(n) + " tokens exceeds the " +
                                                  std::to_string(limit) + " " + what);
  }
  return {};
}

Status Sequence::for_prefix_regions(std::uint32_t n,
                                    FunctionRef<Status(std::span<std::uint8_t>)> region) const {
  const Hyperparams& hp = model_->hparams();
  for (int layer = 0; layer < static_cast<int>(hp.n_layer); ++layer) {
    const kernels::KvLayer cache = kv_layer(layer, hp);
    for (std::size_t head = 0; head < hp.n_head_kv; ++head) {
      // Whole key tiles are the same bytes at any context size (kv_cache.hpp); so are value rows.
      PENSIEVE_TRY(region(std::span(cache.key_tile(head, 0), std::size_t{n} * cache.k_row_bytes())));
      PENSIEVE_TRY(region(std::span(cache.value_row(head, 0), std::size_t{n} * cache.v_row_bytes())));
    }
  }
  return {};
}

Status Sequence::save_prefix(std::uint32_t n,
                             FunctionRef<Status(std::span<const std::uint8_t>)> write) const {
  PENSIEVE_TRY(check_prefix(n, size_, "tokens the sequence holds"));
  return for_prefix_regions(n, [&](std::span<std::uint8_t> bytes) { return write(bytes); });
}

Status Sequence::load_prefix(std::uint32_t n, FunctionRef<Status(std::span<std::uint8_t>)> read) {
  PENSIEVE_TRY(check_prefix(n, n_ctx_, "tokens of the sequence's context"));
  size_ = 0;
  PENSIEVE_TRY(for_prefix_regions(n, read));
  size_ = n;
  return {};
}

void Sequence::truncate(std::uint32_t n) {
  size_ = std::min(size_, n);
}

}  // namespace pensieve::model
