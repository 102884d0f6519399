// Positions of a fixture whose mixture-of-experts routing is too close to call: there any
// engine's rounding (of kernels, or of a KV cache) may choose another expert, and the logits of
// that position jump by far more than rounding. Tests judge such positions apart.
#pragma once

#include <vector>

#include "fixture_manifest.hpp"

namespace pensieve::model::testing {

// Top-k expert choice is discontinuous: where the k-th and (k+1)-th router probabilities of the
// exact computation lie closer than this, any engine's rounding may pick the other expert (the
// peer engine's own argmax agreement on the MoE file is 47 of 48 positions).
inline constexpr double kRouterTieMargin = 0.005;

// Positions whose expert choice, in any layer, is a near-tie (k-th and (k+1)-th probability
// closer than `margin`) in the float oracle's computation (Model loaded with exact kernels and a
// full-precision KV cache). All false for dense models.
std::vector<bool> routing_near_ties(const FixtureFile& f, double margin = kRouterTieMargin);

}  // namespace pensieve::model::testing
