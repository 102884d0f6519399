#include "model/sequence.hpp"

#include <algorithm>

#include "kernels/kv_cache.hpp"

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

kernels::KvLayer Sequence::kv_layer(int layer, const Hyperparams& hp) {
  const std::size_t rows = std::size_t{hp.n_head_kv} * n_ctx_;  // head rows per layer
  const auto l = static_cast<std::size_t>(layer);
  return {kv_type_,
          k_cache_.data() + l * rows * kernels::kv_row_bytes(kv_type_, hp.head_dim_k),
          v_cache_.data() + l * rows * kernels::kv_row_bytes(kv_type_, hp.head_dim_v),
          n_ctx_,
          hp.n_head_kv,
          hp.head_dim_k,
          hp.head_dim_v};
}

void Sequence::truncate(std::uint32_t n) {
  size_ = std::min(size_, n);
}

}  // namespace pensieve::model
