// cli/environment: how options present themselves. Every option of every command can also be given in the
// environment, as PENSIEVE_ and its long name in capitals with '-' as '_' (--ctx-size: PENSIEVE_CTX_SIZE; a
// positional MODEL: PENSIEVE_MODEL), so a service manager or a container sets a server up without
// a command line. The command line wins where both are given; `--help` names each variable.
#pragma once

#include <CLI/CLI.hpp>
#include <initializer_list>
#include <string>

namespace pensieve::cli {

// The variable for an option's long (or positional) name.
std::string environment_name(const std::string& option_name);

// Binds every option of `app`'s subcommands, and theirs, to its variable (help flags excepted),
// unless its command named one (list's --json is PENSIEVE_LIST_JSON, not bench's PENSIEVE_JSON).
void bind_environment_variables(CLI::App& app);

// Puts a command's options under topic headings in its --help, in the order given: each topic
// with the long names of its options. Options left out stay under "Options"; a name that no
// option has is a programming error, thrown as std::logic_error (the CLI tests run every --help).
struct OptionTopic {
  const char* heading;
  std::initializer_list<const char*> long_names;
};
void group_options(CLI::App& command, std::initializer_list<OptionTopic> topics);

}  // namespace pensieve::cli
