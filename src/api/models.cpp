#include "api/models.hpp"

#include <cstdio>
#include <ctime>

namespace pensieve::api {

namespace {

// Seconds since the epoch of an RFC 3339 time such as "2026-01-01T00:00:00Z" (0 if unreadable).
std::int64_t unix_seconds(const std::string& rfc3339) {
  std::tm t{};
  if (std::sscanf(rfc3339.c_str(), "%d-%d-%dT%d:%d:%d", &t.tm_year, &t.tm_mon, &t.tm_mday, &t.tm_hour,
                  &t.tm_min, &t.tm_sec) != 6)
    return 0;
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&t));
}

}  // namespace

// Anthropic's fields and OpenAI's side by side: each SDK reads its own and ignores the others.
nlohmann::ordered_json model_object(const ModelInfo& model, std::string_view requested_id) {
  return {{"type", "model"},
          {"id", requested_id.empty() ? model.id : std::string(requested_id)},
          {"display_name", model.display_name},
          {"created_at", model.created_at},
          {"object", "model"},
          {"created", unix_seconds(model.created_at)},
          {"owned_by", "pensieve"}};
}

nlohmann::ordered_json model_list(const ModelInfo& model) {
  nlohmann::ordered_json data = nlohmann::ordered_json::array();
  data.push_back(model_object(model, model.id));
  return {{"object", "list"},
          {"data", std::move(data)},
          {"has_more", false},
          {"first_id", model.id},
          {"last_id", model.id}};
}

}  // namespace pensieve::api
