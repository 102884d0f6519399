#include "hub/reference.hpp"

#include <algorithm>
#include <cctype>

namespace pensieve::hub {
namespace {

// The hub's repository names: letters, digits, '-', '_' and '.', not starting with '-' or '.',
// without "--" or ".." (the cache folder joins ORG and REPO with "--").
bool valid_name_part(std::string_view part) {
  if (part.empty() || part.size() > 96) return false;
  if (part.front() == '-' || part.front() == '.') return false;
  if (part.find("--") != std::string_view::npos || part.find("..") != std::string_view::npos) return false;
  return std::all_of(part.begin(), part.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool valid_quant(std::string_view quant) {
  return !quant.empty() && std::all_of(quant.begin(), quant.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

// A path inside a repository: no empty, "." or ".." segments, so it cannot climb out of the
// snapshot folder it is stored under.
bool valid_file_path(std::string_view path) {
  if (path.empty()) return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return path.find('\\') == std::string_view::npos && path.find('\0') == std::string_view::npos;
}

std::string_view strip_host(std::string_view text) {
  for (std::string_view prefix : {"https://huggingface.co/", "https://hf.co/", "huggingface.co/", "hf.co/"}) {
    if (text.starts_with(prefix)) return text.substr(prefix.size());
  }
  return text;
}

bool ends_with_gguf(std::string_view text) {
  if (text.size() < 5) return false;
  std::string tail(text.substr(text.size() - 5));
  std::transform(tail.begin(), tail.end(), tail.begin(), [](unsigned char c) { return std::tolower(c); });
  return tail == ".gguf";
}

}  // namespace

std::string Reference::to_string() const {
  std::string text = repo;
  if (!file.empty()) return text.append("/").append(file);
  if (!quant.empty()) return text.append(":").append(quant);
  return text;
}

Result<Reference> parse_reference(std::string_view text) {
  const std::string_view original = text;
  text = strip_host(text);
  const auto bad = [original](const std::string& why) {
    // Appended, not `"'" + std::string(…)`: g++ 12 warns falsely (-Wrestrict) on that form.
    std::string message(1, '\'');
    message.append(original).append("' is not a model reference (").append(why);
    message.append("); write ORG/REPO, ORG/REPO:QUANT or ORG/REPO/FILE.gguf");
    return make_error(ErrorCode::kInvalidArgument, message);
  };
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return bad("no ORG/ part");
  const std::string_view org = text.substr(0, slash);
  std::string_view rest = text.substr(slash + 1);
  const std::size_t end_of_repo = rest.find_first_of(":/");
  const std::string_view repo = rest.substr(0, end_of_repo);
  if (!valid_name_part(org) || !valid_name_part(repo)) return bad("not a valid ORG/REPO name");

  Reference ref;
  ref.repo.append(org).append("/").append(repo);
  if (end_of_repo == std::string_view::npos) return ref;
  const std::string_view tail = rest.substr(end_of_repo + 1);
  if (rest[end_of_repo] == ':') {
    if (!valid_quant(tail)) return bad("the quantization after ':' is empty or has odd characters");
    ref.quant = std::string(tail);
  } else {
    if (!valid_file_path(tail)) return bad("the file path after ORG/REPO/ is empty or climbs out");
    ref.file = std::string(tail);
  }
  return ref;
}

bool looks_like_path(std::string_view text) {
  if (text.empty()) return true;
  if (text.front() == '/' || text.front() == '.' || text.front() == '~') return true;
  if (text.starts_with("hf.co/") || text.starts_with("huggingface.co/") || text.starts_with("https://"))
    return false;
  return ends_with_gguf(text) && std::count(text.begin(), text.end(), '/') < 2;
}

}  // namespace pensieve::hub
