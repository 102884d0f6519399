// api/models: GET /v1/models and /v1/models/{id} in the Anthropic shape. pensieve serves one
// model, but answers to any name: clients ask for `claude-*` names and get the loaded model.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pensieve::api {

struct ModelInfo {
  std::string id;            // the name clients see (the GGUF general.name or file stem)
  std::string display_name;
  std::string created_at;    // RFC 3339
};

nlohmann::ordered_json model_object(const ModelInfo& model, std::string_view requested_id);
nlohmann::ordered_json model_list(const ModelInfo& model);

}  // namespace pensieve::api
