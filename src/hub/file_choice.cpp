#include "hub/file_choice.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>

namespace pensieve::hub {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool is_gguf(const std::string& path) {
  return lower(path).ends_with(".gguf");
}

std::string_view basename(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool is_projector(const std::string& path) {
  return lower(basename(path)).find("mmproj") != std::string::npos;
}

// llama.cpp's gguf-split names parts "%s-%05d-of-%05d.gguf".
struct SplitName {
  std::string group;  // the path without the part suffix
  int index = 0;      // 1-based
  int count = 0;
};

std::optional<SplitName> parse_split(const std::string& path) {
  static constexpr std::size_t kSuffix = std::char_traits<char>::length("-00001-of-00003.gguf");
  if (path.size() <= kSuffix || !is_gguf(path)) return std::nullopt;
  const std::string_view tail = std::string_view(path).substr(path.size() - kSuffix);
  const auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
  };
  if (tail[0] != '-' || tail.substr(6, 4) != "-of-" || !digits(tail.substr(1, 5)) ||
      !digits(tail.substr(10, 5)))
    return std::nullopt;
  SplitName split;
  split.group = path.substr(0, path.size() - kSuffix);
  split.index = std::stoi(std::string(tail.substr(1, 5)));
  split.count = std::stoi(std::string(tail.substr(10, 5)));
  if (split.index < 1 || split.count < 1 || split.index > split.count) return std::nullopt;
  return split;
}

// One model: a single file, or the parts of a split one (sorted by index, possibly incomplete).
struct Model {
  std::string key;  // the file's path, or the split group
  std::vector<const RepoFile*> parts;
  int declared_parts = 1;
};

std::vector<Model> group_models(const std::vector<RepoFile>& files, bool with_projectors) {
  std::map<std::string, Model> by_key;
  std::map<std::string, std::map<int, const RepoFile*>> split_parts;
  for (const RepoFile& f : files) {
    if (!is_gguf(f.path) || (!with_projectors && is_projector(f.path))) continue;
    if (auto split = parse_split(f.path)) {
      Model& m = by_key[split->group];
      m.key = split->group;
      m.declared_parts = std::max(m.declared_parts, split->count);
      split_parts[split->group][split->index] = &f;
    } else {
      by_key[f.path] = Model{f.path, {&f}, 1};
    }
  }
  std::vector<Model> models;
  for (auto& [key, model] : by_key) {
    if (auto it = split_parts.find(key); it != split_parts.end()) {
      for (const auto& [index, file] : it->second) model.parts.push_back(file);
    }
    models.push_back(std::move(model));
  }
  return models;
}

Result<FileChoice> complete(const Model& model, std::string note) {
  if (static_cast<int>(model.parts.size()) != model.declared_parts) {
    return make_error(ErrorCode::kNotFound, "the split model " + model.key + " has " +
                                                std::to_string(model.declared_parts) + " parts but only " +
                                                std::to_string(model.parts.size()) + " are present");
  }
  FileChoice choice;
  for (const RepoFile* f : model.parts) choice.parts.push_back(*f);
  choice.note = std::move(note);
  return choice;
}

bool is_tag_boundary(char c, bool before) {
  return c == '-' || c == '.' || c == '/' || (before && c == '_');
}

// Whether `tag` occurs in `path` as a whole token (case-insensitively).
bool path_has_tag(const std::string& path, const std::string& tag) {
  const std::string hay = lower(path);
  const std::string needle = lower(tag);
  for (std::size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) {
    const std::size_t end = at + needle.size();
    const bool starts = at == 0 || is_tag_boundary(hay[at - 1], true);
    const bool ends = end == hay.size() || is_tag_boundary(hay[end], false);
    if (starts && ends) return true;
  }
  return false;
}

bool looks_like_tag(std::string_view token) {
  const std::string t = lower(token);
  if (t == "f16" || t == "f32" || t == "bf16" || t == "fp16" || t == "fp32" || t == "fp8") return true;
  if (t.starts_with("mxfp4")) return true;
  std::size_t i = 0;
  if (t.starts_with("iq") || t.starts_with("tq")) {
    i = 2;
  } else if (t.starts_with("q")) {
    i = 1;
  } else {
    return false;
  }
  // Q<bits>, then nothing or _ and more: Q8_0, Q4_K_M, IQ4_XS, TQ1_0.
  if (i >= t.size() || !std::isdigit(static_cast<unsigned char>(t[i]))) return false;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
  return i == t.size() || t[i] == '_';
}

std::string tag_in_name(std::string_view name) {
  std::vector<std::string_view> tokens;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '-' || name[i] == '.') {
      tokens.push_back(name.substr(start, i - start));
      start = i + 1;
    }
  }
  for (std::size_t i = tokens.size(); i-- > 0;) {
    if (!looks_like_tag(tokens[i])) continue;
    // Unsloth's dynamic quantizations keep their prefix: UD-Q4_K_XL.
    if (i > 0 && lower(tokens[i - 1]) == "ud") return "UD-" + std::string(tokens[i]);
    return std::string(tokens[i]);
  }
  return {};
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

std::string model_list(const std::vector<Model>& models) {
  std::vector<std::string> names;
  for (const Model& m : models) names.push_back(m.key);
  return join(names, ", ");
}

// The repository's models as the user can name them: tags when every model has a distinct one.
std::string what_exists(const std::vector<RepoFile>& files, const std::vector<Model>& models,
                        const std::string& repo) {
  const auto tags = list_quantizations(files);
  if (!tags.empty()) {
    return "it has " + join(tags, ", ") + " (e.g. pensieve pull " + repo + ":" + tags.front() + ")";
  }
  return "its GGUF files are " + model_list(models) + " (pensieve pull " + repo + "/FILE)";
}

}  // namespace

std::string quantization_of(const std::string& path) {
  std::string_view name = basename(path);
  std::string stem(name);
  if (auto split = parse_split(path))
    stem = std::string(basename(split->group));
  else if (is_gguf(stem))
    stem.resize(stem.size() - 5);
  if (std::string tag = tag_in_name(stem); !tag.empty()) return tag;
  // Some repositories keep each quantization in a folder: Q4_K_M/Model-00001-of-00002.gguf.
  std::string_view dirs(path);
  dirs = dirs.substr(0, dirs.size() - name.size());
  while (!dirs.empty() && dirs.back() == '/') dirs.remove_suffix(1);
  while (!dirs.empty()) {
    const std::string_view dir = basename(dirs);
    if (std::string tag = tag_in_name(dir); !tag.empty()) return tag;
    dirs.remove_suffix(dir.size());
    while (!dirs.empty() && dirs.back() == '/') dirs.remove_suffix(1);
  }
  return {};
}

std::vector<ModelFiles> gguf_models(const std::vector<RepoFile>& files) {
  std::vector<ModelFiles> out;
  for (const Model& m : group_models(files, false)) {
    ModelFiles model{m.key, {}, m.declared_parts};
    for (const RepoFile* part : m.parts) model.parts.push_back(*part);
    out.push_back(std::move(model));
  }
  return out;
}

std::vector<std::string> list_quantizations(const std::vector<RepoFile>& files) {
  std::set<std::string> tags;
  for (const Model& m : group_models(files, false)) {
    if (std::string tag = quantization_of(m.parts.front()->path); !tag.empty()) tags.insert(tag);
  }
  return {tags.begin(), tags.end()};
}

Result<FileChoice> choose_files(const std::vector<RepoFile>& files, const Reference& ref) {
  if (!ref.file.empty()) {
    for (const Model& m : group_models(files, true)) {
      for (const RepoFile* part : m.parts) {
        if (part->path == ref.file) return complete(m, "");  // a part means the whole split model
      }
    }
    // Non-GGUF files can be named by path too (a tokenizer, a template); they are not models.
    for (const RepoFile& f : files) {
      if (f.path == ref.file) return FileChoice{{f}, ""};
    }
    return make_error(ErrorCode::kNotFound, "no file " + ref.file + " in " + ref.repo + "; " +
                                                what_exists(files, group_models(files, false), ref.repo));
  }

  const std::vector<Model> models = group_models(files, false);
  if (models.empty()) {
    return make_error(ErrorCode::kNotFound, ref.repo +
                                                " has no GGUF model files (pensieve runs GGUF models; "
                                                "look for a repository whose name ends in -GGUF)");
  }
  if (ref.quant.empty()) {
    if (models.size() == 1) return complete(models.front(), "");
    Reference with_default = ref;
    with_default.quant = "Q4_K_M";
    if (auto picked = choose_files(files, with_default)) {
      picked->note = "no quantization given: picked Q4_K_M" +
                     (picked->note.empty() ? std::string() : "; " + picked->note);
      return picked;
    }
    return make_error(ErrorCode::kInvalidArgument,
                      ref.repo + " has " + std::to_string(models.size()) +
                          " models, say which: " + what_exists(files, models, ref.repo));
  }

  std::vector<const Model*> matches;
  for (const Model& m : models) {
    if (path_has_tag(m.parts.front()->path, ref.quant)) matches.push_back(&m);
  }
  if (matches.empty()) {
    return make_error(ErrorCode::kNotFound,
                      ref.repo + " has no " + ref.quant + " model; " + what_exists(files, models, ref.repo));
  }
  // Deterministic: the shortest key (the plain model before its variants), then by name.
  std::sort(matches.begin(), matches.end(), [](const Model* a, const Model* b) {
    return a->key.size() != b->key.size() ? a->key.size() < b->key.size() : a->key < b->key;
  });
  std::string note;
  if (matches.size() > 1) {
    std::vector<std::string> others;
    for (std::size_t i = 1; i < matches.size(); ++i) others.push_back(matches[i]->key);
    note = ref.quant + " matches " + std::to_string(matches.size()) + " models: picked " +
           matches.front()->key + " over " + join(others, ", ") + " (name one with " + ref.repo + "/FILE)";
  }
  return complete(*matches.front(), note);
}

}  // namespace pensieve::hub
