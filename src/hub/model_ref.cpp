#include "hub/model_ref.hpp"

#include "hub/local_lookup.hpp"
#include "hub/reference.hpp"

namespace pensieve::hub {
namespace fs = std::filesystem;

ResolveOptions ResolveOptions::from_environment(bool pull) {
  ResolveOptions options;
  options.pull = pull;
  options.pull_options = PullOptions::from_environment();
  options.lmstudio_dirs = lmstudio_model_dirs();
  return options;
}

Result<ResolvedModel> resolve_model(std::string_view argument_view, const ResolveOptions& options) {
  const std::string argument(argument_view);
  std::error_code ec;
  // A path that exists is a path, whatever it looks like: the behaviour commands always had.
  if (fs::exists(argument, ec)) return ResolvedModel{argument, argument, ""};
  if (looks_like_path(argument)) return make_error(ErrorCode::kNotFound, "no such file: " + argument);
  auto ref = parse_reference(argument);
  if (!ref) {
    return make_error(ErrorCode::kNotFound,
                      "no such file: " + argument + ", nor a model reference (" + ref.error().message + ")");
  }
  const std::string label = ref->to_string();

  // Offline first: the cache, then LM Studio's folders. A reference the cache holds but cannot
  // settle (several models, no tag) is answered now rather than sent to the hub.
  std::string looked_in;
  const fs::path& root = options.pull_options.cache_root;
  if (!root.empty()) {
    auto cached = find_in_hf_cache(root, *ref);
    if (cached) return ResolvedModel{cached->files.front().string(), label, cached->note};
    if (cached.error().code != ErrorCode::kNotFound) return cached.error();
    looked_in = "the Hugging Face cache " + root.string();
  }
  for (const fs::path& dir : options.lmstudio_dirs) {
    auto found = find_in_models_folder(dir, *ref);
    if (found) return ResolvedModel{found->files.front().string(), label, found->note};
    if (found.error().code != ErrorCode::kNotFound) return found.error();
    looked_in += (looked_in.empty() ? "" : ", ") + dir.string();
  }

  if (!options.pull) {
    return make_error(ErrorCode::kNotFound,
                      label + " is not on this machine (looked in " +
                          (looked_in.empty() ? std::string("no folder: HOME is unset") : looked_in) +
                          "): fetch it with `pensieve pull " + label + "`, or add --pull to fetch it now");
  }
  auto pulled = pull(*ref, options.pull_options);
  if (!pulled) return pulled.error();
  return ResolvedModel{pulled->files.front().string(), label,
                       pulled->already_present ? pulled->note : "pulled " + label + " into the cache"};
}

Result<ResolvedModel> resolve_model(std::string_view argument, bool pull) {
  return resolve_model(argument, ResolveOptions::from_environment(pull));
}

}  // namespace pensieve::hub
