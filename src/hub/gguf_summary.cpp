#include "hub/gguf_summary.hpp"

#include "gguf/reader.hpp"

namespace pensieve::hub {

std::string file_type_name(std::uint64_t file_type) {
  switch (file_type) {
    case 0:
      return "F32";
    case 1:
      return "F16";
    case 2:
      return "Q4_0";
    case 3:
      return "Q4_1";
    case 7:
      return "Q8_0";
    case 8:
      return "Q5_0";
    case 9:
      return "Q5_1";
    case 10:
      return "Q2_K";
    case 11:
      return "Q3_K_S";
    case 12:
      return "Q3_K_M";
    case 13:
      return "Q3_K_L";
    case 14:
      return "Q4_K_S";
    case 15:
      return "Q4_K_M";
    case 16:
      return "Q5_K_S";
    case 17:
      return "Q5_K_M";
    case 18:
      return "Q6_K";
    case 19:
      return "IQ2_XXS";
    case 20:
      return "IQ2_XS";
    case 21:
      return "Q2_K_S";
    case 22:
      return "IQ3_XS";
    case 23:
      return "IQ3_XXS";
    case 24:
      return "IQ1_S";
    case 25:
      return "IQ4_NL";
    case 26:
      return "IQ3_S";
    case 27:
      return "IQ3_M";
    case 28:
      return "IQ2_S";
    case 29:
      return "IQ2_M";
    case 30:
      return "IQ4_XS";
    case 31:
      return "IQ1_M";
    case 32:
      return "BF16";
    case 36:
      return "TQ1_0";
    case 37:
      return "TQ2_0";
    case 38:
      return "MXFP4_MOE";
    default:
      return "";
  }
}

Result<GgufSummary> read_gguf_summary(const std::string& path) {
  auto file = gguf::File::open(path);
  if (!file) return file.error();
  const auto& c = file->contents();
  GgufSummary summary;
  if (auto arch = c.get_string("general.architecture"); arch && *arch)
    summary.architecture = std::string(**arch);
  if (auto name = c.get_string("general.name"); name && *name) summary.name = std::string(**name);
  if (!summary.architecture.empty()) {
    if (auto ctx = c.get_uint(summary.architecture + ".context_length"); ctx && *ctx)
      summary.context_length = **ctx;
  }
  if (auto type = c.get_uint("general.file_type"); type && *type) summary.file_type = file_type_name(**type);
  return summary;
}

}  // namespace pensieve::hub
