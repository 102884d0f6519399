// A byte-level stand-in for a model, for testing the API layer's plumbing: each byte of the
// user's text is a token, and the "model" answers with a fixed script, one byte per token.
#pragma once

#include <algorithm>
#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "api/frontend.hpp"
#include "engine/backend.hpp"

namespace pensieve::api::testing {

inline constexpr std::int32_t kEos = 256;

// "Generates" `script`, one token per logits request after the prompt (its last chunk asks for the
// first), then `end` for ever: what the API layer sees of a model that writes exactly this.
class TokenScriptBackend : public engine::Backend {
 public:
  TokenScriptBackend(std::vector<std::int32_t> script, std::int32_t end, std::int32_t vocab,
                     std::size_t context = 4096)
      : script_(std::move(script)), end_(end), vocab_(vocab), context_(context) {}

  struct Seq : engine::Sequence {
    std::size_t size() const override { return n; }
    void clear() override { n = 0, answered = 0; }
    // A kept prefix starts a new request: the script starts over.
    void truncate(std::size_t keep) override { n = std::min(n, keep), answered = 0; }
    // A shared prefix starts a new request too.
    Status share_prefix(const engine::Sequence& from, std::size_t keep) override {
      n = std::min(static_cast<const Seq&>(from).n, keep), answered = 0;
      return {};
    }
    std::size_t n = 0;
    std::size_t answered = 0;  // logits computed so far: the prompt's last chunk, then one per token
  };

  std::int32_t vocab_size() const override { return vocab_; }
  std::size_t context_length() const override { return context_; }
  Result<std::unique_ptr<engine::Sequence>> create_sequence() override {
    return std::unique_ptr<engine::Sequence>(new Seq);
  }
  Status forward(engine::Sequence& s, std::span<const std::int32_t> tokens,
                 std::span<float> logits) override {
    auto& seq = static_cast<Seq&>(s);
    seq.n += tokens.size();
    if (!logits.empty()) {
      std::fill(logits.begin(), logits.end(), 0.0f);
      const std::size_t i = seq.answered++;
      logits[static_cast<std::size_t>(i < script_.size() ? script_[i] : end_)] = 50.0f;
    }
    return {};
  }

 private:
  std::vector<std::int32_t> script_;
  std::int32_t end_;
  std::int32_t vocab_;
  std::size_t context_;
};

inline std::vector<std::int32_t> byte_tokens(std::string_view text) {
  std::vector<std::int32_t> ids;
  for (unsigned char c : text) ids.push_back(c);
  return ids;
}

// The byte-level model: answers `script`, one byte per token, then kEos.
class ScriptBackend : public TokenScriptBackend {
 public:
  explicit ScriptBackend(std::string_view script, std::size_t context = 512)
      : TokenScriptBackend(byte_tokens(script), kEos, 257, context) {}
};

class ByteDecoder : public TokenDecoder {
 public:
  void push(std::int32_t token, std::string& out) override { out.push_back(static_cast<char>(token)); }
  void finish(std::string&) override {}
};

class PassThroughParser : public chat::StreamParser {
 public:
  void feed(std::string_view text, std::vector<chat::ChatEvent>& out) override {
    chat::EventSink(&out).text(text);
  }
  void finish(std::vector<chat::ChatEvent>&) override {}
};

class ByteFrontend : public Frontend {
 public:
  Result<Prompt> prompt(const MessagesRequest& request) override {
    ++prompts_built;
    Prompt p;
    auto& ids = p.tokens;
    if (request.raw_prompt) {
      for (unsigned char c : *request.raw_prompt) ids.push_back(c);
    }
    for (const auto& m : request.conversation.messages) {
      if (m.content.bare_text) {
        for (unsigned char c : std::get<chat::TextBlock>(m.content.blocks.front()).text) ids.push_back(c);
      }
    }
    return p;
  }
  std::unique_ptr<TokenDecoder> decoder() override { return std::make_unique<ByteDecoder>(); }
  std::unique_ptr<chat::StreamParser> parser(const MessagesRequest&, const Prompt&) override {
    return std::make_unique<PassThroughParser>();
  }
  std::vector<std::int32_t> end_tokens() const override { return {kEos}; }
  std::size_t longest_token_bytes() const override { return 1; }  // a token per byte
  std::atomic<int> prompts_built{0};
};

}  // namespace pensieve::api::testing
