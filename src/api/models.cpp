#include "api/models.hpp"

namespace pensieve::api {

nlohmann::ordered_json model_object(const ModelInfo& model, std::string_view requested_id) {
  return {{"type", "model"},
          {"id", requested_id.empty() ? model.id : std::string(requested_id)},
          {"display_name", model.display_name},
          {"created_at", model.created_at}};
}

nlohmann::ordered_json model_list(const ModelInfo& model) {
  nlohmann::ordered_json data = nlohmann::ordered_json::array();
  data.push_back(model_object(model, model.id));
  return {{"data", std::move(data)}, {"has_more", false}, {"first_id", model.id}, {"last_id", model.id}};
}

}  // namespace pensieve::api
