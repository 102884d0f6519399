// Broken and hostile files: each must be rejected with an error that says what is wrong (or, for
// the odd-but-valid ones, accepted), without crashing, hanging or allocating without bound.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/mapped_file.hpp"
#include "gguf/reader.hpp"
#include "tools/gguf_corpus/hostile_gguf.hpp"
#include "tools/gguf_corpus/raw_gguf.hpp"

namespace pensieve::gguf {
namespace {

using hostile::RawGguf;

const std::string kModels = std::string(PENSIEVE_FIXTURES) + "/models";

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

TEST(GgufHostile, CatalogueVerdicts) {
  const auto files = hostile::hostile_gguf_files();
  ASSERT_GT(files.size(), 50u);
  for (const auto& f : files) {
    SCOPED_TRACE(f.name);
    auto parsed = parse(f.bytes);
    if (starts_with(f.name, "ok-")) {
      EXPECT_TRUE(parsed.ok()) << parsed.error().message;
    } else {
      ASSERT_FALSE(parsed.ok());
      EXPECT_NE(parsed.error().message.find(f.expect), std::string::npos) << parsed.error().message;
    }
  }
}

TEST(GgufHostile, ErrorsSayWhere) {
  auto dup = parse(RawGguf{}.header(0, 2).kv_u32("alpha", 1).kv_u32("alpha", 2).bytes);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kInvalidFormat);
  EXPECT_NE(dup.error().message.find("'alpha'"), std::string::npos);
  EXPECT_NE(dup.error().message.find("at byte 45"), std::string::npos) << dup.error().message;

  auto unknown = parse(RawGguf{}.header(1, 0).tensor("blk.0.attn_q.weight", {8}, 77, 0).zeros(64).bytes);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(unknown.error().message.find("'blk.0.attn_q.weight'"), std::string::npos);

  // Names are the file's bytes: in a message they cannot steer a terminal or start a log line.
  auto hostile = parse(RawGguf{}.header(1, 0).tensor("x\x1b[2J\nrequest forged", {8}, 77, 0).zeros(64).bytes);
  ASSERT_FALSE(hostile.ok());
  EXPECT_NE(hostile.error().message.find("'x\\x1b[2J\\x0arequest forged'"), std::string::npos)
      << hostile.error().message;
  EXPECT_EQ(hostile.error().message.find('\n'), std::string::npos);
  EXPECT_EQ(hostile.error().message.find('\x1b'), std::string::npos);
}

// An array longer than the decoded-item budget is refused before anything is allocated for it,
// even when the file really holds that many bytes. (The budget is shared by all arrays of a file.)
TEST(GgufHostile, MetadataItemBudget) {
  RawGguf f;
  f.header(0, 1).str("tokenizer.ggml.scores").u32(9).u32(0).u64(kMaxMetadataItems + 1).zeros(kMaxMetadataItems + 1);
  auto parsed = parse(f.bytes);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(parsed.error().message.find("'tokenizer.ggml.scores'"), std::string::npos) << parsed.error().message;
}

std::vector<std::uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A model cut short anywhere before the end of its last tensor is rejected: at every 1 KiB
// boundary of a whole fixture, and densely through the header and metadata of two fixtures, where
// the parser is busiest.
TEST(GgufHostile, TruncatedFixtureIsRejectedEverywhere) {
  struct Case {
    const char* name;
    bool every_kib;
  };
  for (const Case& c : {Case{"llama-q4_0.gguf", true}, Case{"qwen3moe-q4_k_m.gguf", false}}) {
    SCOPED_TRACE(c.name);
    const auto bytes = read_all(kModels + "/" + c.name);
    auto whole = parse(bytes);
    ASSERT_TRUE(whole.ok());
    std::uint64_t end_of_data = whole->data_offset;
    for (const auto& t : whole->tensors) end_of_data = std::max(end_of_data, whole->data_offset + t.offset + t.data.size());
    std::vector<std::size_t> cuts;
    if (c.every_kib) {
      for (std::size_t n = 0; n < end_of_data; n += 1024) cuts.push_back(n);
    }
    // Every byte of the first 2 KiB (header, scalar keys, array headers), then every 31st, which
    // lands in every field of the string arrays and tensor infos in turn.
    for (std::size_t n = 1; n < whole->data_offset; n += n < 2048 ? 1 : 31) cuts.push_back(n);
    for (std::size_t n : {whole->data_offset, end_of_data / 2, end_of_data - 1, end_of_data - 2, end_of_data - 33}) {
      cuts.push_back(n);
    }
    for (std::size_t n : cuts) {
      auto cut = parse(std::span<const std::uint8_t>(bytes).first(n));
      ASSERT_FALSE(cut.ok()) << "accepted a file cut at byte " << n;
      ASSERT_FALSE(cut.error().message.empty());
    }
    // Cutting only trailing padding after the last tensor loses nothing.
    EXPECT_TRUE(parse(std::span<const std::uint8_t>(bytes).first(end_of_data)).ok());
  }
}

// Every catalogue entry, written to a file, goes through the real file path (mmap + parse): "ok-"
// files are accepted, all others rejected with a message. The same files seed the fuzzer
// (make_gguf_corpus, scripts/fuzz.sh).
TEST(GgufCorpus, EveryFileGetsItsVerdict) {
  const auto dir = std::filesystem::temp_directory_path() / ("pensieve-gguf-corpus-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  int seen = 0;
  for (const auto& f : hostile::hostile_gguf_files()) {
    const auto path = dir / (f.name + ".gguf");
    SCOPED_TRACE(f.name);
    {
      std::ofstream out(path, std::ios::binary);
      out.write(reinterpret_cast<const char*>(f.bytes.data()), static_cast<std::streamsize>(f.bytes.size()));
      ASSERT_TRUE(out.good());
    }
    auto file = File::open(path.string());
    if (starts_with(f.name, "ok-")) {
      EXPECT_TRUE(file.ok()) << file.error().message;
    } else if (!file.ok()) {
      EXPECT_FALSE(file.error().message.empty());
    } else {
      ADD_FAILURE() << "accepted";
    }
    ++seen;
  }
  std::filesystem::remove_all(dir);
  EXPECT_GT(seen, 50);
}

}  // namespace
}  // namespace pensieve::gguf
