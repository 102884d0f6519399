#include "tokenizer/token_roles.hpp"

namespace pensieve::tokenizer {
namespace {

constexpr std::string_view kTurnEndTexts[] = {
    "<|eot_id|>",      // Llama 3
    "<|eom_id|>",      // Llama 3.1 (end of message, tool call pending)
    "<|im_end|>",      // ChatML: Qwen, many fine-tunes
    "<|end|>",         // Phi-3
    "<end_of_turn>",   // Gemma
    "<|endoftext|>",   // GPT-2 lineage, Qwen base, Phi-3
    "<|end_of_text|>", // Llama 3 base
    "<EOT>",           // Code Llama infill
    "<|EOT|>",         // DeepSeek Coder instruct
    "<｜end▁of▁sentence｜>",  // DeepSeek V2/V3/R1
    "<|return|>",      // gpt-oss
    "<|call|>",        // gpt-oss
};

constexpr std::string_view kHarmonyTurnEnds[] = {"<|return|>", "<|call|>"};

// Phi-3 tokens that, unlike the rest of its added tokens, keep the whitespace after them.
constexpr std::string_view kPhi3KeepSpaceAfter[] = {"<unk>", "<s>", "<|endoftext|>"};

}  // namespace

bool is_turn_end_text(std::string_view token_text) {
  for (std::string_view t : kTurnEndTexts) {
    if (t == token_text) return true;
  }
  return false;
}

bool is_harmony_turn_end(std::string_view token_text) {
  for (std::string_view t : kHarmonyTurnEnds) {
    if (t == token_text) return true;
  }
  return false;
}

bool is_harmony_message_end(std::string_view token_text) {
  return token_text == "<|end|>";
}

bool strips_space_after(std::string_view architecture, std::string_view token_text) {
  if (architecture != "phi3") return false;
  for (std::string_view t : kPhi3KeepSpaceAfter) {
    if (t == token_text) return false;
  }
  return true;
}

}  // namespace pensieve::tokenizer
