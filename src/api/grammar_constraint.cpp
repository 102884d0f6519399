#include "api/grammar_constraint.hpp"

#include <algorithm>
#include <bit>
#include <limits>

#include "grammar/control_token.hpp"

namespace pensieve::api {

namespace {

const std::vector<std::string> kReasoningEnd{"</think>"};

// Where the first of `texts` begins in `s` (the longest at a tie: a control token's marked text
// begins before the text in it), and its length; npos when none does.
std::pair<std::size_t, std::size_t> first_of(const std::string& s, const std::vector<std::string>& texts) {
  std::size_t at = std::string::npos, length = 0;
  for (const std::string& t : texts) {
    const std::size_t pos = s.find(t);
    if (pos < at || (pos == at && pos != std::string::npos && t.size() > length)) {
      at = pos;
      length = t.size();
    }
  }
  return {at, length};
}

std::size_t longest(const std::vector<std::string>& texts) {
  std::size_t n = 0;
  for (const std::string& t : texts) n = std::max(n, t.size());
  return n;
}

}  // namespace

GrammarConstraint::GrammarConstraint(std::shared_ptr<grammar::TokenMasker> masker,
                                     std::shared_ptr<const grammar::Grammar> grammar,
                                     std::shared_ptr<const std::vector<std::string>> token_bytes,
                                     std::vector<std::int32_t> end_tokens, std::optional<Trigger> trigger)
    : masker_(std::move(masker)),
      grammar_(grammar),
      matcher_(std::move(grammar)),
      trigger_(std::move(trigger)),
      engaged_(!trigger_),
      quiet_until_(trigger_ && trigger_->starts_in_reasoning ? &kReasoningEnd : nullptr),
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
  const chat::CallTrigger& call = trigger_->call;
  for (;;) {
    if (quiet_until_) {
      const auto [end, length] = first_of(recent_, *quiet_until_);
      if (end == std::string::npos) {
        const std::size_t keep = longest(*quiet_until_);
        if (recent_.size() > keep) recent_.erase(0, recent_.size() - keep);
        return false;
      }
      std::size_t after = end + length;
      // A marker as a control token: its closing mark goes with it.
      if (end > 0 && recent_[end - 1] == grammar::kControlMark && after < recent_.size() &&
          recent_[after] == grammar::kControlMark)
        ++after;
      recent_.erase(0, after);
      quiet_until_ = nullptr;
    }
    const auto [quiet, quiet_length] = first_of(recent_, call.quiet_open);
    const auto [at, length] = first_of(recent_, call.texts);
    const auto [opening, opening_length] = first_of(recent_, call.openings);
    const std::size_t first = std::min({quiet, at, opening});
    if (first == std::string::npos) {
      const std::size_t keep =
          std::max({longest(call.texts), longest(call.openings), longest(call.quiet_open)});
      if (keep > 0 && recent_.size() >= keep) recent_.erase(0, recent_.size() - (keep - 1));
      return false;
    }
    if (first == quiet) {
      recent_.erase(0, quiet + quiet_length);
      quiet_until_ = &call.quiet_close;
      continue;
    }
    // What the token wrote past a trigger is already part of the call; an opening is its start.
    const std::string rest = first == at ? recent_.substr(at + length) : recent_.substr(opening);
    recent_.clear();
    matcher_ = grammar::Matcher(grammar_);
    engaged_ = rest.empty() || matcher_.accept(rest);
    return engaged_;
  }
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
