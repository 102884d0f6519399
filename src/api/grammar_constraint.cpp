#include "api/grammar_constraint.hpp"

#include <algorithm>
#include <bit>
#include <limits>

#include "grammar/control_token.hpp"

namespace pensieve::api {

namespace {
constexpr std::string_view kReasoningEnd = "</think>";
}

GrammarConstraint::GrammarConstraint(std::shared_ptr<grammar::TokenMasker> masker,
                                     std::shared_ptr<const grammar::Grammar> grammar,
                                     std::shared_ptr<const std::vector<std::string>> token_bytes,
                                     std::vector<std::int32_t> end_tokens, std::optional<Trigger> trigger)
    : masker_(std::move(masker)),
      grammar_(grammar),
      matcher_(std::move(grammar)),
      trigger_(std::move(trigger)),
      engaged_(!trigger_),
      in_reasoning_(trigger_ && trigger_->starts_in_reasoning),
      token_bytes_(std::move(token_bytes)),
      end_tokens_(std::move(end_tokens)),
      end_logits_(end_tokens_.size()) {}

void GrammarConstraint::mask(std::span<float> logits) {
  if (!engaged_) return;
  const std::size_t n = std::min(logits.size(), token_bytes_->size());
  for (std::size_t i = 0; i < end_tokens_.size(); ++i) {
    const auto t = static_cast<std::size_t>(end_tokens_[i]);
    end_logits_[i] = t < logits.size() ? logits[t] : 0.0f;
  }
  masker_->allowed(matcher_, allowed_);
  constexpr float kNever = -std::numeric_limits<float>::infinity();
  // A word at a time: inside a free string nearly every word is all ones and costs nothing.
  for (std::size_t base = 0; base < n; base += 64) {
    std::uint64_t refused = ~allowed_[base / 64];
    if (n - base < 64) refused &= (std::uint64_t{1} << (n - base)) - 1;
    for (; refused != 0; refused &= refused - 1)
      logits[base + static_cast<std::size_t>(std::countr_zero(refused))] = kNever;
  }
  for (std::size_t i = n; i < logits.size(); ++i) logits[i] = kNever;
  const bool may_end = matcher_.can_end();
  for (std::size_t i = 0; i < end_tokens_.size(); ++i) {
    const auto t = static_cast<std::size_t>(end_tokens_[i]);
    if (t < logits.size()) logits[t] = may_end ? end_logits_[i] : kNever;
  }
}

bool GrammarConstraint::accept(std::int32_t token) {
  const std::string_view bytes = token >= 0 && static_cast<std::size_t>(token) < token_bytes_->size()
                                     ? std::string_view((*token_bytes_)[static_cast<std::size_t>(token)])
                                     : std::string_view();
  if (!engaged_) {
    watch(bytes);
    return true;
  }
  matcher_.accept(bytes);
  if (!matcher_.must_end()) return true;
  if (!trigger_) return false;
  // A lazy call is complete: free again, for text or another call.
  engaged_ = false;
  matcher_ = grammar::Matcher(grammar_);
  return true;
}

bool GrammarConstraint::watch(std::string_view bytes) {
  recent_.append(bytes);
  if (in_reasoning_) {
    const auto end = recent_.find(kReasoningEnd);
    if (end == std::string::npos) {
      if (recent_.size() > kReasoningEnd.size()) recent_.erase(0, recent_.size() - kReasoningEnd.size());
      return false;
    }
    in_reasoning_ = false;
    std::size_t after = end + kReasoningEnd.size();
    // "</think>" as a control token: its closing mark goes with it.
    if (end > 0 && recent_[end - 1] == grammar::kControlMark && after < recent_.size() &&
        recent_[after] == grammar::kControlMark)
      ++after;
    recent_.erase(0, after);
  }
  // The trigger that begins first (a control token's marked text begins before the text in it).
  std::size_t at = std::string::npos;
  std::size_t found = 0;
  std::size_t longest = 0;
  for (const std::string& trigger : trigger_->texts) {
    longest = std::max(longest, trigger.size());
    const std::size_t pos = recent_.find(trigger);
    if (pos < at || (pos == at && pos != std::string::npos && trigger.size() > found)) {
      at = pos;
      found = trigger.size();
    }
  }
  if (at == std::string::npos) {
    if (longest > 0 && recent_.size() >= longest) recent_.erase(0, recent_.size() - (longest - 1));
    return false;
  }
  // What the token wrote past the trigger is already part of the call.
  const std::string rest = recent_.substr(at + found);
  recent_.clear();
  matcher_ = grammar::Matcher(grammar_);
  engaged_ = rest.empty() || matcher_.accept(rest);
  return engaged_;
}

MaskerCache::MaskerCache(std::shared_ptr<const std::vector<std::string>> token_bytes, std::size_t capacity)
    : token_bytes_(std::move(token_bytes)), capacity_(capacity) {}

MaskerCache::Entry MaskerCache::get(const std::string& key,
                                    const std::shared_ptr<const grammar::Grammar>& g) {
  {
    std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first != key) continue;
      entries_.splice(entries_.begin(), entries_, it);
      return it->second;
    }
  }
  // Built outside the lock: other requests' grammars need not wait for this one's.
  Entry entry{g, std::make_shared<grammar::TokenMasker>(g, *token_bytes_)};
  std::lock_guard lock(mutex_);
  entries_.emplace_front(key, entry);
  if (entries_.size() > capacity_) entries_.pop_back();
  return entry;
}

}  // namespace pensieve::api
