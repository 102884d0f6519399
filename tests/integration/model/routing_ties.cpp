#include "routing_ties.hpp"

#include <algorithm>

#include "kernels/ops.hpp"
#include "model/model.hpp"

namespace pensieve::model::testing {

std::vector<bool> routing_near_ties(const FixtureFile& f, double margin) {
  std::vector<bool> tie(f.tokens.size(), false);
  auto model = Model::load(f.path, {.exact = true});
  if (!model.ok() || !(*model)->hparams().is_moe()) return tie;
  const std::size_t k = (*model)->hparams().n_expert_used;
  auto seq = (*model)->create_sequence(static_cast<std::uint32_t>(f.tokens.size()));
  if (!seq.ok()) return tie;
  std::vector<std::size_t> next_row((*model)->hparams().n_layer, 0);
  seq->set_observer([&](const TensorView& v) {
    // Routers that choose by logits (gpt-oss) are judged on the probabilities those logits give,
    // which order the experts the same way.
    const bool logits = v.name == "ffn_moe_logits";
    if (v.name != "ffn_moe_probs" && !logits) return;
    for (std::size_t r = 0; r < v.rows; ++r) {
      std::vector<float> p(v.data + r * v.cols, v.data + (r + 1) * v.cols);
      if (logits) kernels::softmax_in_place(p.data(), p.size());
      std::sort(p.rbegin(), p.rend());
      const std::size_t position = next_row[static_cast<std::size_t>(v.layer)]++;
      if (p[k - 1] - p[k] < margin) tie[position] = true;
    }
  });
  std::vector<float> unused;
  if (!(*model)->forward(*seq, f.tokens, {}, unused).ok()) return tie;
  return tie;
}

}  // namespace pensieve::model::testing
