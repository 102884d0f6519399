#include "cli/model_argument.hpp"

namespace pensieve::cli {

Result<std::filesystem::path> resolve_model_argument(const std::string& argument) {
  if (argument.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "no model given: name a GGUF file (or set PENSIEVE_MODEL)");
  }
  std::error_code ec;
  const std::filesystem::path path(argument);
  if (!std::filesystem::is_regular_file(path, ec)) {
    return make_error(ErrorCode::kNotFound, "no model file " + argument + ": give the path of a .gguf file");
  }
  return std::filesystem::absolute(path, ec);
}

}  // namespace pensieve::cli
