// tokenizer/token_roles: what model families say about particular added tokens, which GGUF
// metadata does not carry — which control tokens end a turn, and which tokens swallow the
// whitespace after them. Kept in one place so no token text is spelled elsewhere.
#pragma once

#include <string_view>

namespace pensieve::tokenizer {

// True for the texts of tokens that end an assistant turn in some family (<|im_end|>,
// <|eot_id|>, <|end|>, <|endoftext|>, ...). Only consulted for control/user-defined tokens.
bool is_turn_end_text(std::string_view token_text);

// True for the harmony format's message end (gpt-oss): in a vocabulary with the tokens that end
// its turns (is_harmony_turn_end), <|end|> closes one message — the analysis before the answer —
// and the turn goes on, so it must not end a generation there.
bool is_harmony_turn_end(std::string_view token_text);
bool is_harmony_message_end(std::string_view token_text);

// True when, for this architecture, a matched added token also consumes the whitespace that
// follows it (Phi-3's tokenizer marks its chat tokens rstrip).
bool strips_space_after(std::string_view architecture, std::string_view token_text);

}  // namespace pensieve::tokenizer
