#include "cli/environment.hpp"

#include <cctype>
#include <stdexcept>

namespace pensieve::cli {

std::string environment_name(const std::string& option_name) {
  std::string name = "PENSIEVE_";
  for (char c : option_name) {
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

namespace {

void bind_options(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    const auto& long_names = option->get_lnames();
    std::string name = long_names.empty() ? option->get_name(true) : long_names.front();
    if (name.empty() || name == "help" || name == "help-all") continue;
    if (!option->get_envname().empty()) continue;  // named by its command, where the rule is ambiguous
    option->envname(environment_name(name));
  }
}

}  // namespace

void bind_environment_variables(CLI::App& app) {
  for (CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) {
    bind_options(*command);
    bind_environment_variables(*command);
  }
}

void group_options(CLI::App& command, std::initializer_list<OptionTopic> topics) {
  for (const OptionTopic& topic : topics) {
    for (const char* name : topic.long_names) {
      CLI::Option* option = command.get_option_no_throw(std::string("--") + name);
      if (option == nullptr) {
        throw std::logic_error("pensieve " + command.get_name() + " has no option --" + name + " to group");
      }
      option->group(topic.heading);
    }
  }
}

}  // namespace pensieve::cli
