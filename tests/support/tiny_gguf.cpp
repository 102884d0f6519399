#include "support/tiny_gguf.hpp"

#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <vector>

#include "gguf/writer.hpp"

namespace pensieve::testing {

std::string tiny_gguf(const TinyGguf& spec) {
  gguf::Writer w;
  const auto check = [](const Status& s) {
    if (!s) throw std::runtime_error(s.error().message);
  };
  check(w.add_string("general.architecture", spec.architecture));
  check(w.add_string("general.name", spec.name));
  check(w.add_uint32("general.file_type", spec.file_type));
  check(w.add_uint32(spec.architecture + ".context_length", static_cast<std::uint32_t>(spec.context_length)));
  std::vector<float> values(spec.payload_floats);
  std::mt19937 rng(spec.seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& v : values) v = dist(rng);
  const std::uint64_t dims[] = {spec.payload_floats};
  check(w.add_tensor_from_floats("payload", tensor::TensorType::kF32, dims, values));
  auto bytes = w.to_bytes();
  if (!bytes) throw std::runtime_error(bytes.error().message);
  return std::string(bytes->begin(), bytes->end());
}

void write_file(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

}  // namespace pensieve::testing
