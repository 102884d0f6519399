#include "upstream/upstream_pool.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/hash.hpp"

namespace pensieve::upstream {
namespace {

// splitmix64's finaliser: every input bit moves every output bit, so scores of one key on
// different upstreams are independent and the highest is uniformly any of them.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

std::uint64_t score(std::uint64_t key, std::uint64_t seed) {
  return mix(key ^ seed);
}

std::string format_figure(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

UpstreamPool::Lease::Lease(Lease&& other) noexcept : pool_(other.pool_), index_(other.index_) {
  other.pool_ = nullptr;
}

UpstreamPool::Lease& UpstreamPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (pool_) pool_->release(index_);
    pool_ = other.pool_;
    index_ = other.index_;
    other.pool_ = nullptr;
  }
  return *this;
}

UpstreamPool::Lease::~Lease() {
  if (pool_) pool_->release(index_);
}

const UpstreamUrl& UpstreamPool::Lease::url() const {
  return pool_->urls_[index_];
}

UpstreamPool::UpstreamPool(std::vector<UpstreamUrl> upstreams, PoolOptions options)
    : urls_(std::move(upstreams)), options_(std::move(options)), entries_(urls_.size()) {
  for (std::size_t i = 0; i < urls_.size(); ++i) {
    // The URL, not the position, names an upstream for hashing: reordering --upstream flags or
    // restarting keeps every conversation where its cache is. A URL given twice gets a second
    // identity from its repeat count.
    const std::string text = urls_[i].text();
    std::uint64_t repeats = 0;
    for (std::size_t j = 0; j < i; ++j) repeats += urls_[j].text() == text ? 1 : 0;
    core::Hash64 hash;
    hash.update(text);
    hash.update_u64(repeats);
    entries_[i].seed = hash.digest();
  }
}

std::string UpstreamPool::full_reason(const Entry& e, std::chrono::steady_clock::time_point now) const {
  if (e.outstanding >= options_.max_outstanding) {
    return std::to_string(e.outstanding) + " requests in flight from here (limit " +
           std::to_string(options_.max_outstanding) + ")";
  }
  if (!e.load || now - e.load_at > options_.max_load_age) return {};
  const UpstreamLoad& load = *e.load;
  double waiting = load.waiting.value_or(0);
  if (waiting > 0) {
    const double since = static_cast<double>(e.sent_since_load) - static_cast<double>(e.finished_since_load);
    waiting = std::max(0.0, waiting + since);
  }
  if (load.waiting && waiting >= options_.max_waiting) {
    return format_figure(waiting) + " requests queued (limit " + format_figure(options_.max_waiting) + ")";
  }
  if (load.kv_usage && *load.kv_usage >= options_.max_kv_usage && waiting > 0) {
    return "KV cache " + format_figure(std::round(*load.kv_usage * 1000) / 10) + "% full (limit " +
           format_figure(options_.max_kv_usage * 100) + "%) with requests queued";
  }
  return {};
}

UpstreamPool::Choice UpstreamPool::choose(std::uint64_t prefix_key, const std::vector<std::size_t>& tried) {
  Choice choice;
  std::lock_guard lock(mutex_);
  const auto now = options_.clock();
  std::vector<std::size_t> candidates;
  std::string busy;
  std::size_t untried_up = 0;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (std::find(tried.begin(), tried.end(), i) != tried.end()) continue;
    const Entry& e = entries_[i];
    if (!e.up) continue;
    ++untried_up;
    const std::string reason = full_reason(e, now);
    if (reason.empty()) {
      candidates.push_back(i);
    } else {
      busy += (busy.empty() ? "" : "; ") + urls_[i].text() + " has " + reason;
    }
  }
  if (candidates.empty()) {
    if (untried_up == 0) {
      choice.refusal = Refusal::kAllDown;
      if (entries_.empty()) {
        choice.message = "no upstream is configured";
      } else {
        choice.message = "no upstream is reachable: " +
                         std::string(tried.empty() ? "" : "those not yet tried for this request ") +
                         "failed their health check or a connection";
      }
    } else {
      choice.refusal = Refusal::kAllBusy;
      choice.message = "every upstream is busy: " + busy;
    }
    return choice;
  }

  // Rendezvous order: the affine upstream first, the rest as the key's next choices.
  std::sort(candidates.begin(), candidates.end(), [&](std::size_t a, std::size_t b) {
    const std::uint64_t sa = score(prefix_key, entries_[a].seed), sb = score(prefix_key, entries_[b].seed);
    return sa != sb ? sa > sb : a < b;
  });
  std::size_t least = entries_[candidates.front()].outstanding;
  for (std::size_t i : candidates) least = std::min(least, entries_[i].outstanding);
  std::size_t pick = candidates.front();
  const double keep = static_cast<double>(least + options_.affinity_slack) +
                      options_.affinity_ratio * static_cast<double>(least);
  if (static_cast<double>(entries_[pick].outstanding) > keep) {
    // The least loaded, earliest in the key's rendezvous order among equals.
    pick = *std::find_if(candidates.begin(), candidates.end(),
                         [&](std::size_t i) { return entries_[i].outstanding == least; });
  }
  Entry& e = entries_[pick];
  ++e.outstanding;
  ++e.requests;
  ++e.sent_since_load;
  choice.lease.emplace(Lease(this, pick));
  return choice;
}

void UpstreamPool::release(std::size_t index) {
  std::lock_guard lock(mutex_);
  Entry& e = entries_[index];
  if (e.outstanding > 0) --e.outstanding;
  ++e.finished_since_load;
}

void UpstreamPool::connection_failed(std::size_t index) {
  std::lock_guard lock(mutex_);
  if (index >= entries_.size()) return;
  entries_[index].up = false;
  ++entries_[index].failures;
}

void UpstreamPool::health_checked(std::size_t index, bool up, std::optional<UpstreamLoad> load) {
  std::lock_guard lock(mutex_);
  if (index >= entries_.size()) return;
  Entry& e = entries_[index];
  e.up = up;
  e.load = std::move(load);
  e.load_at = options_.clock();
  e.sent_since_load = 0;
  e.finished_since_load = 0;
}

std::vector<UpstreamPool::UpstreamState> UpstreamPool::states() const {
  std::lock_guard lock(mutex_);
  std::vector<UpstreamState> out;
  out.reserve(entries_.size());
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    out.push_back({urls_[i].text(), e.up, e.outstanding, e.load, e.requests, e.failures});
  }
  return out;
}

std::string UpstreamPool::prometheus_text() const {
  const std::vector<UpstreamState> all = states();
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help, auto value_of) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const UpstreamState& s : all) {
      out += std::string(name) + "{upstream=\"" + escape_label(s.url) + "\"} " + std::to_string(value_of(s)) +
             "\n";
    }
  };
  family("pensieve_upstream_up", "gauge", "1 when the upstream is taken to be up.",
         [](const UpstreamState& s) { return static_cast<std::uint64_t>(s.up ? 1 : 0); });
  family("pensieve_upstream_outstanding", "gauge", "Requests in flight to the upstream from here.",
         [](const UpstreamState& s) { return static_cast<std::uint64_t>(s.outstanding); });
  family("pensieve_upstream_requests_total", "counter", "Requests sent to the upstream.",
         [](const UpstreamState& s) { return s.requests; });
  family("pensieve_upstream_failures_total", "counter", "Connections to the upstream that failed.",
         [](const UpstreamState& s) { return s.failures; });
  return out;
}

}  // namespace pensieve::upstream
