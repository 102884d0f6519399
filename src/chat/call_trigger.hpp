// chat/call_trigger: how a tool call that the model opens on its own (tool_choice auto) shows in
// its free output, so that constrained decoding can engage there (see ToolCallPrefiller::lazy_call).
#pragma once

#include <string>
#include <vector>

namespace pensieve::chat {

struct CallTrigger {
  std::vector<std::string> texts;     // the call's grammar takes what follows any of them
  std::vector<std::string> openings;  // or begins with one of them (an opener of another form)
  // Where a trigger is only words: from any of `quiet_open` to any of `quiet_close` (gpt-oss's
  // message bodies, in which "to=functions." may be written about, not called).
  std::vector<std::string> quiet_open;
  std::vector<std::string> quiet_close;
};

}  // namespace pensieve::chat
