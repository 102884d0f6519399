// A byte-level stand-in for a model, for testing the API layer's plumbing: each byte of the
// user's text is a token, and the "model" answers with a fixed script, one byte per token.
#pragma once

#include <string>
#include <vector>

#include "api/frontend.hpp"
#include "engine/backend.hpp"

namespace pensieve::api::testing {

inline constexpr std::int32_t kEos = 256;

class ScriptBackend : public engine::Backend {
 public:
  explicit ScriptBackend(std::string script, std::size_t context = 512) : script_(std::move(script)), context_(context) {}

  struct Seq : engine::Sequence {
    std::size_t size() const override { return n; }
    void clear() override { n = 0, answered = 0; }
    std::size_t n = 0;
    std::size_t answered = 0;  // logits computed so far: the prompt's last chunk, then one per token
  };

  std::int32_t vocab_size() const override { return 257; }
  std::size_t context_length() const override { return context_; }
  Result<std::unique_ptr<engine::Sequence>> create_sequence() override {
    return std::unique_ptr<engine::Sequence>(new Seq);
  }
  Status forward(engine::Sequence& s, std::span<const std::int32_t> tokens, std::span<float> logits) override {
    auto& seq = static_cast<Seq&>(s);
    seq.n += tokens.size();
    if (!logits.empty()) {
      std::fill(logits.begin(), logits.end(), 0.0f);
      const std::size_t i = seq.answered++;
      logits[i < script_.size() ? static_cast<unsigned char>(script_[i]) : kEos] = 20.0f;
    }
    return {};
  }

 private:
  std::string script_;
  std::size_t context_;
};

class ByteDecoder : public TokenDecoder {
 public:
  void push(std::int32_t token, std::string& out) override { out.push_back(static_cast<char>(token)); }
  void finish(std::string&) override {}
};

class PassThroughParser : public OutputParser {
 public:
  void feed(std::string_view text, OutputSink& sink) override { sink.text(text); }
  void finish(OutputSink&) override {}
};

class ByteFrontend : public Frontend {
 public:
  Result<Prompt> prompt(const MessagesRequest& request) override {
    Prompt p;
    auto& ids = p.tokens;
    for (const auto& m : request.body["messages"]) {
      if (m["content"].is_string()) {
        for (unsigned char c : m["content"].get<std::string>()) ids.push_back(c);
      }
    }
    return p;
  }
  std::unique_ptr<TokenDecoder> decoder() override { return std::make_unique<ByteDecoder>(); }
  std::unique_ptr<OutputParser> parser(const MessagesRequest&, const Prompt&) override { return std::make_unique<PassThroughParser>(); }
  std::vector<std::int32_t> end_tokens() const override { return {kEos}; }
};

}  // namespace pensieve::api::testing
