#include "upstream/upstream_error.hpp"

#include <utility>

namespace pensieve::upstream {
namespace {

using json = nlohmann::ordered_json;

// Enough of a plain-text body to say what it was, cut on a UTF-8 boundary.
constexpr std::size_t kMaxTextMessage = 1000;

std::string trimmed_text(std::string_view body) {
  const auto blank = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!body.empty() && blank(body.front())) body.remove_prefix(1);
  while (!body.empty() && blank(body.back())) body.remove_suffix(1);
  if (body.size() <= kMaxTextMessage) return std::string(body);
  std::size_t end = kMaxTextMessage;
  while (end > 0 && (static_cast<unsigned char>(body[end]) & 0xC0) == 0x80) --end;
  return std::string(body.substr(0, end)) + "…";
}

const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::optional<std::string> string_member(const json& object, const char* key) {
  const json* value = member(object, key);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return value->get<std::string>();
}

// FastAPI's validation detail: [{"loc": ["body", "x"], "msg": "…"}, …] → "body.x: …; …".
std::string detail_text(const json& detail) {
  std::string out;
  for (const json& item : detail) {
    if (!out.empty()) out += "; ";
    if (const json* loc = member(item, "loc"); loc != nullptr && loc->is_array()) {
      std::string path;
      for (const json& part : *loc) {
        if (!path.empty()) path += '.';
        path += part.is_string() ? part.get<std::string>() : part.dump();
      }
      if (!path.empty()) out += path + ": ";
    }
    if (auto msg = string_member(item, "msg"))
      out += *msg;
    else
      out += item.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return out;
}

enum class Fault { kRequest, kCredentials, kOverloaded, kUpstream };

Fault fault_of_status(int status) {
  switch (status) {
    case 400:
    case 404:
    case 413:
    case 422:
      return Fault::kRequest;
    case 401:
    case 403:
      return Fault::kCredentials;
    case 429:
    case 503:
    case 529:
      return Fault::kOverloaded;
    default:
      return Fault::kUpstream;
  }
}

api::ApiError translated(Fault fault, const std::string& how, const std::string& message) {
  switch (fault) {
    case Fault::kRequest:
      return api::invalid_request("The upstream model server refused the request (" + how + "): " + message);
    case Fault::kCredentials:
      return api::bad_gateway("The upstream model server refused this server's credentials (" + how +
                              "): " + message +
                              ". The API key this server sends to its upstream is wrong or missing: that is "
                              "this server's configuration, not your request.");
    case Fault::kOverloaded:
      return api::overloaded("The upstream model server is overloaded (" + how + "): " + message, 529);
    case Fault::kUpstream:
      break;
  }
  return api::bad_gateway("The upstream model server failed (" + how + "): " + message);
}

}  // namespace

std::optional<std::string> error_message(const json& body) {
  if (!body.is_object()) return std::nullopt;
  if (const json* error = member(body, "error")) {
    if (error->is_string()) return error->get<std::string>();
    if (auto message = string_member(*error, "message")) return message;
  }
  if (const json* detail = member(body, "detail")) {
    if (detail->is_string()) return detail->get<std::string>();
    if (detail->is_array() && !detail->empty()) return detail_text(*detail);
  }
  return string_member(body, "message");
}

api::ApiError upstream_error(int http_status, std::string_view body) {
  std::string message;
  const json parsed = json::parse(body, nullptr, false);
  if (auto m = parsed.is_discarded() ? std::nullopt : error_message(parsed)) {
    message = std::move(*m);
  } else {
    message = trimmed_text(body);
  }
  if (message.empty()) message = "no message";
  return translated(fault_of_status(http_status), "HTTP " + std::to_string(http_status), message);
}

api::ApiError upstream_error_object(const json& body) {
  std::string message =
      error_message(body).value_or(body.dump(-1, ' ', false, json::error_handler_t::replace));
  const json* error = member(body, "error");
  const json& fields = error != nullptr && error->is_object() ? *error : body;
  Fault fault = Fault::kUpstream;
  if (const json* code = member(fields, "code"); code != nullptr && code->is_number_integer()) {
    fault = fault_of_status(code->get<int>());
  } else if (auto type = string_member(fields, "type")) {
    if (*type == "invalid_request_error" || *type == "BadRequestError") fault = Fault::kRequest;
    if (*type == "overloaded_error" || *type == "rate_limit_error") fault = Fault::kOverloaded;
  }
  return translated(fault, "in its answer", message);
}

}  // namespace pensieve::upstream
