// engine/token_constraint: a rule on which tokens a generation may produce next (a grammar for
// tool calls or JSON output), applied by the scheduler before each token is sampled. The mask
// comes first and the sampling chain (penalties, temperature, top-k/p, the seeded draw) runs on
// what it leaves, so a constrained generation stays deterministic with a seed.
#pragma once

#include <cstdint>
#include <span>

namespace pensieve::engine {

// Called on the scheduler's thread only, once per generated token: mask() then accept().
class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // Sets the logits of the tokens that may not come next to -infinity. The request's end tokens
  // are among those it rules on: allowed only where the output may end. It must leave at least
  // one token allowed.
  virtual void mask(std::span<float> logits) = 0;
  // The token sampled (an end token never reaches it). False: nothing may follow it, and the
  // generation stops after it.
  virtual bool accept(std::int32_t token) = 0;
};

}  // namespace pensieve::engine
