#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "chat/model_template.hpp"
#include "cli/commands.hpp"
#include "cli/model_argument.hpp"
#include "gguf/reader.hpp"
#include "jinja/template.hpp"

namespace pensieve::cli {
namespace {

struct RenderArgs {
  std::string model;
  bool pull = false;
  std::string conversation;
  std::string template_file;
  bool no_generation_prompt = false;
  std::vector<std::string> sets;
};

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status run_render(const RenderArgs& args) {
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  std::vector<std::string> trusted = {"bos_token", "eos_token"};
  std::string source;
  if (args.model != "-") {
    auto model = gguf::File::open(args.model);
    if (!model) return model.error();
    auto chat = chat::read_model_chat_template(model->contents());
    if (!chat) return chat.error().with_context(args.model);
    context["bos_token"] = chat->bos_token;
    context["eos_token"] = chat->eos_token;
    if (chat->source) source = *chat->source;
    if (!chat->source && args.template_file.empty()) {
      return make_error(ErrorCode::kNotFound,
                        args.model + " has no tokenizer.chat_template; pass --template FILE");
    }
  } else if (args.template_file.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "without a model (MODEL is '-') --template FILE is required");
  }
  if (!args.template_file.empty()) {
    auto text = read_text(args.template_file);
    if (!text) return text.error();
    source = std::move(*text);
  }

  auto conversation_text = read_text(args.conversation);
  if (!conversation_text) return conversation_text.error();
  const auto conversation =
      nlohmann::ordered_json::parse(*conversation_text, nullptr, /*allow_exceptions=*/false);
  if (conversation.is_discarded() || !conversation.is_object() || !conversation.contains("messages")) {
    return make_error(ErrorCode::kInvalidFormat,
                      args.conversation + ": expected a JSON object with \"messages\"");
  }
  context["messages"] = conversation.at("messages");
  context["tools"] =
      conversation.contains("tools") ? conversation.at("tools") : nlohmann::ordered_json(nullptr);
  context["add_generation_prompt"] = !args.no_generation_prompt;

  // --set NAME=VALUE: VALUE is JSON when it parses as JSON, a string otherwise. The operator
  // typed it, so it is trusted.
  for (const std::string& set : args.sets) {
    const auto eq = set.find('=');
    if (eq == std::string::npos || eq == 0) {
      return make_error(ErrorCode::kInvalidArgument, "--set expects NAME=VALUE, got '" + set + "'");
    }
    const std::string name = set.substr(0, eq);
    const std::string value = set.substr(eq + 1);
    auto parsed = nlohmann::ordered_json::parse(value, nullptr, false);
    context[name] = parsed.is_discarded() ? nlohmann::ordered_json(value) : parsed;
    trusted.push_back(name);
  }

  auto tmpl = jinja::Template::parse(source);
  if (!tmpl) return tmpl.error();
  jinja::RenderOptions options;
  options.trusted_variables = trusted;
  auto rendered = jinja::render(*tmpl, context, options);
  if (!rendered) return rendered.error();
  std::cout << rendered->text << std::flush;
  return {};
}

}  // namespace

void add_render_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<RenderArgs>();
  auto* cmd =
      app.add_subcommand("render", "Print the prompt a model's chat template makes of a conversation");
  cmd->add_option(
         "MODEL", args->model,
         std::string(kModelArgumentHelp) + " (its chat template, BOS and EOS), or '-' with --template")
      ->required();
  add_pull_flag(*cmd, args->pull);
  cmd->add_option("CONVERSATION", args->conversation, "JSON object with \"messages\" and optional \"tools\"")
      ->required();
  cmd->add_option("--template", args->template_file, "Jinja2 template file to use instead of the model's");
  cmd->add_flag("--no-generation-prompt", args->no_generation_prompt,
                "Render add_generation_prompt as false");
  cmd->add_option("--set", args->sets, "NAME=VALUE template variable (VALUE as JSON, else a string)");
  cmd->callback([args, &exit_code] {
    if (args->model != "-" && !resolve_model_argument("render", args->model, args->pull)) {
      exit_code = 1;
      return;
    }
    const Status status = run_render(*args);
    if (!status.ok()) {
      std::cerr << "pensieve render: " << status.error().message << "\n";
      exit_code = 1;
    }
  });
}

}  // namespace pensieve::cli
