#include "engine/model_backend.hpp"

#include <algorithm>
#include <cstdio>

#include "core/hash.hpp"
#include "kernels/kv_cache.hpp"

namespace pensieve::engine {
namespace {

class ModelSequence : public Sequence {
 public:
  explicit ModelSequence(model::Sequence seq) : seq(std::move(seq)) {}
  std::size_t size() const override { return seq.size(); }
  void clear() override { seq.clear(); }
  void truncate(std::size_t n) override {
    if (n < seq.size()) seq.truncate(static_cast<std::uint32_t>(n));
  }
  Status share_prefix(const Sequence& from, std::size_t n) override {
    return seq.share_prefix(static_cast<const ModelSequence&>(from).seq, static_cast<std::uint32_t>(n));
  }
  void set_pinned(bool pinned) override { seq.set_pinned(pinned); }
  std::size_t blocks_held() const override { return seq.kv_blocks(); }
  std::size_t blocks_to_append(std::size_t n) const override {
    return seq.blocks_to_append(static_cast<std::uint32_t>(n));
  }
  model::Sequence seq;
};

}  // namespace

namespace {

std::uint32_t context_of(const model::Model& model, std::uint32_t n_ctx) {
  if (n_ctx != 0) return n_ctx;
  return model.hparams().n_ctx_train != 0 ? model.hparams().n_ctx_train : 4096;
}

// What a saved cache prefix must match: the model file (its size, every tensor's name, type and
// shape, and the first bytes of each tensor's data — enough to tell apart files of one shape) and
// the cache's element type and layout version.
std::string identity_of(const model::Model& model, kernels::KvType kv_type) {
  core::Hash64 h;
  h.update_u64(model.file_size());
  for (const auto& t : model.metadata().tensors) {
    h.update(t.name);
    h.update_u64(static_cast<std::uint64_t>(t.type));
    for (std::uint64_t d : t.dims) h.update_u64(d);
    h.update(t.data.first(std::min<std::size_t>(t.data.size(), 4096)));
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h.digest()));
  return std::string(model.hparams().architecture_name) + "-" + hex + "-kv-" +
         std::string(kernels::name_of(kv_type)) + "-v1";
}

}  // namespace

Result<std::unique_ptr<ModelBackend>> ModelBackend::create(const model::Model& model, std::uint32_t n_ctx,
                                                           kernels::KvType kv_type, std::uint32_t max_batch,
                                                           std::uint32_t pool_blocks) {
  auto workspace = model.create_workspace(max_batch);
  if (!workspace) return workspace.error();
  const std::uint32_t context = context_of(model, n_ctx);
  const std::uint32_t one_context = (context + model::KvPool::kBlockTokens - 1) / model::KvPool::kBlockTokens;
  auto pool = model.create_kv_pool(pool_blocks != 0 ? pool_blocks : one_context, kv_type);
  if (!pool) return pool.error();
  return std::unique_ptr<ModelBackend>(
      new ModelBackend(model, context, kv_type, std::move(*workspace), std::move(*pool)));
}

ModelBackend::ModelBackend(const model::Model& model, std::uint32_t n_ctx, kernels::KvType kv_type,
                           model::Workspace workspace, std::shared_ptr<model::KvPool> pool)
    : model_(model),
      n_ctx_(n_ctx),
      kv_type_(kv_type),
      workspace_(std::move(workspace)),
      pool_(std::move(pool)),
      identity_(identity_of(model, kv_type)) {}

KvPoolStats ModelBackend::kv_pool() const {
  return {model::KvPool::kBlockTokens, pool_->total_blocks(), pool_->free_blocks(),
          pool_->unpinned_only_blocks(), pool_->block_bytes()};
}

std::uint64_t ModelBackend::prefix_bytes(std::size_t n) const {
  return model::Sequence::prefix_bytes(model_.hparams(), kv_type_, static_cast<std::uint32_t>(n));
}

Status ModelBackend::save_prefix(Sequence& sequence, std::size_t n,
                                 FunctionRef<Status(std::span<const std::uint8_t>)> write) {
  return static_cast<ModelSequence&>(sequence).seq.save_prefix(static_cast<std::uint32_t>(n), write);
}

Status ModelBackend::load_prefix(Sequence& sequence, std::size_t n, std::size_t stored,
                                 FunctionRef<Status(std::span<std::uint8_t>)> read,
                                 FunctionRef<Status(std::size_t)> skip) {
  if (stored > UINT32_MAX) return make_error(ErrorCode::kOutOfRange, "a saved prefix too long to load");
  return static_cast<ModelSequence&>(sequence).seq.load_prefix(
      static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(stored), read, skip);
}

std::int32_t ModelBackend::vocab_size() const { return static_cast<std::int32_t>(model_.hparams().n_vocab); }

Result<std::unique_ptr<Sequence>> ModelBackend::create_sequence() {
  // No workspace of its own: every sequence is computed in the backend's.
  auto seq = model_.create_sequence(pool_, n_ctx_, {.max_batch = 0, .kv_type = kv_type_});
  if (!seq) return seq.error();
  return std::unique_ptr<Sequence>(new ModelSequence(std::move(*seq)));
}

Status ModelBackend::forward(Sequence& sequence, std::span<const std::int32_t> tokens, std::span<float> last_logits) {
  // Longer inputs go in chunks the workspace holds; only the last asks for logits.
  const std::size_t chunk = workspace_.max_rows();
  for (std::size_t first = 0; first < tokens.size(); first += chunk) {
    const std::size_t count = std::min(chunk, tokens.size() - first);
    const bool last = first + count == tokens.size();
    const BatchItem item{&sequence, tokens.subspan(first, count), last ? last_logits : std::span<float>{}};
    PENSIEVE_TRY(forward_batch(std::span(&item, 1)));
  }
  return {};
}

Status ModelBackend::forward_batch(std::span<const BatchItem> items) {
  parts_.clear();
  last_rows_.resize(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const BatchItem& item = items[i];
    model::BatchPart part;
    part.sequence = &static_cast<ModelSequence&>(*item.sequence).seq;
    part.tokens = item.tokens;
    if (!item.last_logits.empty() && !item.tokens.empty()) {
      last_rows_[i] = static_cast<std::uint32_t>(item.tokens.size() - 1);
      part.logit_rows = std::span(&last_rows_[i], 1);
      part.logits = item.last_logits;
    }
    parts_.push_back(part);
  }
  return model_.forward_batch(workspace_, parts_);
}

}  // namespace pensieve::engine
