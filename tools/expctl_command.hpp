#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/command_line.hpp"

// What every expctl command is given and calls (tools/expctl_command.cpp), and the
// commands that live in files of their own; tools/expctl.cpp dispatches to them.
namespace expd::tools::expctl {

struct settings {
  std::string server; // base URL, no trailing slash
  std::optional<std::string> token; // from --token; otherwise resolved when needed
  bool json_output = false;
};

/// The settings from the global options and the environment.
settings make_settings(const command_line& line);

/// Rejects options that `line`'s command does not take (beyond the global ones) and a
/// wrong number of words.
void expect(const command_line& line, const std::vector<std::string_view>& allowed,
            std::size_t word_count, const std::string& synopsis);

/// The client key ($EXPD_CLIENT_KEY), else the admin token when one is configured,
/// else "".
std::string client_token(const settings& s);

enum class credential { admin, client };

/// Calls the API at `path` (POSTing `body` when given) and returns its JSON answer.
nlohmann::json call(const settings& s, const std::string& path,
                    const std::optional<nlohmann::json>& body, credential who,
                    long timeout_seconds = 60);

/// A field of an answer as text: strings bare, other values as JSON, absent as "-".
std::string text(const nlohmann::json& object, const char* key);
/// The list `key` of an answer; its absence means the server broke the contract.
const nlohmann::json& list(const nlohmann::json& answer, const char* key);
void print_table(const std::vector<std::vector<std::string>>& rows);
void print_json(const nlohmann::json& answer);
/// "?a_b=v&..." from the options among `names` that were given ("a-b" becomes "a_b").
std::string query_of(const command_line& line, std::initializer_list<const char*> names);

/// expctl results NAME|ID [...] (tools/results_command.cpp).
int results_command(const settings& s, const command_line& line);

/// expctl load (tools/load_command.cpp).
int load_command(const settings& s, const command_line& line);
/// expctl cluster nodes | drain NODE | forget NODE (tools/cluster_command.cpp).
int cluster_command(const settings& s, const command_line& line);
/// expctl train -f FILE | status JOB | logs [-f] JOB | cancel JOB | list
/// (tools/train_command.cpp).
int train_command(const settings& s, const command_line& line);
int promote_command(const settings& s, const command_line& line);

/// expctl replay: an offline replay of a candidate against a baseline (tools/replay_command.cpp).
int replay_command(const settings& s, const command_line& line);
/// expctl dataset build NAME --from T --to T [--validation F] | list | show NAME/VERSION
/// (tools/dataset_command.cpp).
int dataset_command(const settings& s, const command_line& line);
/// expctl pipelines list | runs [NAME] | trigger NAME | show RUN (tools/pipeline_command.cpp).
int pipelines_command(const settings& s, const command_line& line);

} // namespace expd::tools::expctl
