#include "server/prompt_cache_report.hpp"

namespace pensieve::server {

nlohmann::ordered_json prompt_cache_json(const engine::SchedulerStats& s) {
  const std::uint64_t prompts = s.prompt_tokens_reused + s.prompt_tokens_computed;
  return {{"cached_tokens", s.cached_tokens},
          {"prompt_tokens_reused", s.prompt_tokens_reused},
          {"prompt_tokens_computed", s.prompt_tokens_computed},
          {"hit_rate",
           prompts == 0 ? 0.0 : static_cast<double>(s.prompt_tokens_reused) / static_cast<double>(prompts)},
          {"prompt_tokens_loaded", s.prompt_tokens_loaded},
          {"cached_sequences", s.cached_sequences},
          {"kv_pool",
           {{"block_tokens", s.pool.block_tokens},
            {"total_blocks", s.pool.total_blocks},
            {"free_blocks", s.pool.free_blocks},
            {"cached_only_blocks", s.pool.unpinned_only_blocks},
            {"block_bytes", s.pool.block_bytes}}},
          {"disk", {{"prefixes", s.stored_prefixes}, {"bytes", s.stored_bytes}}}};
}

std::string prompt_cache_metrics(const engine::SchedulerStats& s) {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  metric("pensieve_prompt_cache_tokens", "gauge", "Tokens whose KV cache is kept for a next request.",
         s.cached_tokens);
  metric("pensieve_prompt_tokens_reused_total", "counter", "Prompt tokens found cached, not computed.",
         s.prompt_tokens_reused);
  metric("pensieve_prompt_tokens_computed_total", "counter", "Prompt tokens computed.",
         s.prompt_tokens_computed);
  metric("pensieve_prompt_tokens_loaded_total", "counter",
         "Reused prompt tokens read from the cache on disk.", s.prompt_tokens_loaded);
  metric("pensieve_prompt_cache_disk_bytes", "gauge", "Bytes of saved prompt caches on disk.",
         s.stored_bytes);
  metric("pensieve_kv_pool_blocks", "gauge", "Blocks of the KV cache pool.", s.pool.total_blocks);
  metric("pensieve_kv_pool_free_blocks", "gauge", "Free blocks of the KV cache pool.", s.pool.free_blocks);
  metric("pensieve_kv_pool_cached_only_blocks", "gauge",
         "KV blocks held only by cached prompts (given back under memory pressure).",
         s.pool.unpinned_only_blocks);
  return out;
}

}  // namespace pensieve::server
