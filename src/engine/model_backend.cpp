#include "engine/model_backend.hpp"

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
  model::Sequence seq;
};

}  // namespace

ModelBackend::ModelBackend(const model::Model& model, std::uint32_t n_ctx, kernels::KvType kv_type,
                           std::uint32_t max_batch)
    : model_(model),
      n_ctx_(n_ctx != 0 ? n_ctx : (model.hparams().n_ctx_train != 0 ? model.hparams().n_ctx_train : 4096)),
      kv_type_(kv_type),
      max_batch_(max_batch) {}

std::int32_t ModelBackend::vocab_size() const { return static_cast<std::int32_t>(model_.hparams().n_vocab); }

Result<std::unique_ptr<Sequence>> ModelBackend::create_sequence() {
  auto seq = model_.create_sequence(n_ctx_, {.max_batch = max_batch_, .kv_type = kv_type_});
  if (!seq) return seq.error();
  return std::unique_ptr<Sequence>(new ModelSequence(std::move(*seq)));
}

Status ModelBackend::forward(Sequence& sequence, std::span<const std::int32_t> tokens, std::span<float> last_logits) {
  auto& seq = static_cast<ModelSequence&>(sequence).seq;
  if (last_logits.empty()) return model_.forward(seq, tokens, {}, {});
  const std::uint32_t last_row = static_cast<std::uint32_t>(tokens.size() - 1);
  return model_.forward(seq, tokens, std::span(&last_row, 1), last_logits);
}

}  // namespace pensieve::engine
