// The built-in byte-level vocabulary and vocabulary files, as our tokenizer loads them.
#include "synth/vocabulary.hpp"

#include <gtest/gtest.h>

#include "gguf/reader.hpp"
#include "gguf/writer.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::synth {
namespace {

const std::string kVocabDir = std::string(PENSIEVE_FIXTURES) + "/vocab/";

// A tokenizer read back from what write_byte_level_tokenizer wrote (kept with its bytes).
struct Written {
  std::vector<std::uint8_t> bytes;
  std::unique_ptr<tokenizer::Tokenizer> tok;
};

Written write_and_load(const TokenList& list, const TokenizerSettings& settings) {
  gguf::Writer w;
  EXPECT_TRUE(w.add_string("general.architecture", "llama").ok());
  const Status st = write_byte_level_tokenizer(w, list, settings);
  EXPECT_TRUE(st.ok()) << st.error().message;
  Written out;
  out.bytes = *w.to_bytes();
  auto contents = gguf::parse(out.bytes);
  EXPECT_TRUE(contents.ok()) << contents.error().message;
  auto tok = tokenizer::Tokenizer::from_gguf(*contents);
  EXPECT_TRUE(tok.ok()) << tok.error().message;
  out.tok = std::make_unique<tokenizer::Tokenizer>(std::move(*tok));
  return out;
}

TEST(SynthVocabulary, BuiltInVocabularyEncodesProseToWordsAndRoundTripsAnyBytes) {
  TokenList list = builtin_byte_level_vocab(200);
  EXPECT_EQ(list.merges.size(), 200u);
  const ChatTokens chat = add_chatml_tokens(list);
  add_filler_tokens(list, 1000);
  ASSERT_EQ(list.size(), 1000);
  for (const char* pre : {"qwen2", "llama-bpe"}) {
    const Written w = write_and_load(list, {pre, std::nullopt, chat.im_end, chat.endoftext, false, ""});
    const auto& tok = *w.tok;
    EXPECT_EQ(tok.n_vocab(), 1000);
    const std::string prose = "The answer is in the text, and the model writes the next one.";
    const auto ids = tok.encode(prose, false);
    EXPECT_LT(ids.size() * 3, prose.size()) << pre << ": merges make multi-byte tokens";
    EXPECT_EQ(tok.decode(ids), prose);
    const std::string odd = "héllo wörld ✓ 12345\n\t<|im_end|>";
    EXPECT_EQ(tok.decode(tok.encode(odd, false)), odd) << pre;

    const auto chat_ids = tok.encode("<|im_start|>user\nhi<|im_end|>", true);
    ASSERT_GE(chat_ids.size(), 3u);
    EXPECT_EQ(chat_ids.front(), chat.im_start);
    EXPECT_EQ(chat_ids.back(), chat.im_end);
    EXPECT_TRUE(tok.is_end_of_generation(chat.im_end));
    // Fillers are ordinary text when sampled.
    EXPECT_EQ(tok.decode(std::vector<std::int32_t>{999}).front(), ' ');
  }
}

TEST(SynthVocabulary, BuiltInVocabularyIsDeterministicAndTruncatable) {
  const TokenList a = builtin_byte_level_vocab(200), b = builtin_byte_level_vocab(200);
  EXPECT_EQ(a.texts, b.texts);
  EXPECT_EQ(a.merges, b.merges);
  const TokenList small = builtin_byte_level_vocab(10);
  EXPECT_EQ(small.merges.size(), 10u);
  EXPECT_EQ(std::vector<std::string>(a.merges.begin(), a.merges.begin() + 10), small.merges);
  EXPECT_EQ(a.texts[0], "!");           // GPT-2's order: printable bytes first
  EXPECT_EQ(a.texts[255], "\xc5\x83");  // … and the remapped ones after (byte 0xad → U+0143)
}

TEST(SynthVocabulary, ReadsAVocabularyFileAndReusesItsEndOfText) {
  auto file = gguf::File::open(kVocabDir + "ggml-vocab-gpt-2.gguf");
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto list = read_byte_level_vocab(file->contents());
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->size(), 50257);
  EXPECT_EQ(list->merges.size(), 50000u);
  const ChatTokens chat = add_chatml_tokens(*list);
  EXPECT_EQ(chat.endoftext, 50256);
  EXPECT_EQ(list->types[50256], static_cast<std::int32_t>(tokenizer::TokenType::kControl));
  EXPECT_EQ(chat.im_start, 50257);
  EXPECT_EQ(chat.im_end, 50258);
  auto count = vocab_token_count(file->contents());
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 50257u);
}

TEST(SynthVocabulary, SentencePieceFilesAreNotByteLevel) {
  auto file = gguf::File::open(kVocabDir + "ggml-vocab-llama-spm.gguf");
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_FALSE(read_byte_level_vocab(file->contents()).ok());
}

}  // namespace
}  // namespace pensieve::synth
