// What every expctl command shares: its settings, the call to the API, the output.

#include "tools/expctl_command.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "tools/cli_errors.hpp"
#include "tools/http_client.hpp"
#include "tools/text_table.hpp"

namespace expd::tools::expctl {

using nlohmann::json;

namespace {

constexpr const char* default_server = "http://127.0.0.1:8080";

constexpr std::string_view global_options[] = {"server", "token", "output", "help"};

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token)) {
    throw input_error("cannot read the admin token from " + path);
  }
  // Tolerate the whitespace editors and `echo` leave around the token.
  const char* blanks = " \t\r";
  token.erase(token.find_last_not_of(blanks) + 1);
  token.erase(0, token.find_first_not_of(blanks));
  if (token.empty()) {
    throw input_error("the admin token file " + path + " is empty");
  }
  return token;
}

// Resolved only for admin calls, so `assign` works without any token configured.
std::string admin_token(const settings& s) {
  if (s.token) {
    return *s.token;
  }
  if (std::string token = env("EXPD_ADMIN_TOKEN"); !token.empty()) {
    return token;
  }
  if (std::string path = env("EXPD_ADMIN_TOKEN_FILE"); !path.empty()) {
    return read_token_file(path);
  }
  std::error_code unreadable; // then reading it says why
  if (std::filesystem::exists("var/admin.token", unreadable) || unreadable) {
    return read_token_file("var/admin.token");
  }
  throw usage_error(
      "no admin token: pass --token, or set EXPD_ADMIN_TOKEN or EXPD_ADMIN_TOKEN_FILE");
}

} // namespace

void expect(const command_line& line, const std::vector<std::string_view>& allowed,
            std::size_t word_count, const std::string& synopsis) {
  for (const auto& [name, value] : line.options) {
    bool ok = false;
    for (auto global : global_options) {
      ok = ok || name == global;
    }
    for (auto own : allowed) {
      ok = ok || name == own;
    }
    if (!ok) {
      throw usage_error(line.words[0] + " does not take --" + name);
    }
  }
  if (line.words.size() != word_count) {
    throw usage_error("usage: expctl " + synopsis);
  }
}

settings make_settings(const command_line& line) {
  settings s;
  std::optional<std::string> server = line.value("server");
  std::string from_env = env("EXPD_SERVER");
  s.server = server ? *server : from_env.empty() ? default_server : from_env;
  while (!s.server.empty() && s.server.back() == '/') {
    s.server.pop_back();
  }
  if (s.server.empty()) {
    throw usage_error("--server is empty");
  }
  s.token = line.value("token");
  if (s.token && s.token->empty()) {
    throw usage_error("--token is empty");
  }
  std::string output = line.value("output").value_or("table");
  if (output != "table" && output != "json") {
    throw usage_error("-o takes json or table, not \"" + output + "\"");
  }
  s.json_output = output == "json";
  return s;
}

// The calls a client makes (assign, raw events, results of drafts) take a client key
// when one is given, else the admin token when one is configured, else nothing.
std::string client_token(const settings& s) {
  if (std::string key = env("EXPD_CLIENT_KEY"); !key.empty()) {
    return key;
  }
  try {
    return admin_token(s);
  } catch (const usage_error&) {
    return "";
  }
}

json call(const settings& s, const std::string& path, const std::optional<json>& body,
          credential who, long timeout_seconds) {
  std::string token = who == credential::admin ? admin_token(s) : client_token(s);
  std::optional<std::string> payload;
  try {
    if (body) {
      payload = body->dump();
    }
  } catch (const json::type_error&) {
    // Only the operator's input can carry bytes that are not UTF-8.
    throw input_error("the request holds text that is not valid UTF-8");
  }
  http_response response = perform(s.server + path, payload, token, timeout_seconds);
  if (response.status < 200 || response.status > 299) {
    throw server_error(describe_error(response));
  }
  json result = json::parse(response.body, nullptr, false);
  if (result.is_discarded() || !result.is_object()) {
    throw server_error("the server's answer is not a JSON object: " + response.body.substr(0, 200));
  }
  return result;
}

std::string text(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || object[key].is_null()) {
    return "-";
  }
  const json& value = object[key];
  return value.is_string() ? value.get<std::string>() : dump(value);
}

const json& list(const json& answer, const char* key) {
  if (!answer.contains(key) || !answer[key].is_array()) {
    throw server_error(std::string("the server's answer has no \"") + key + "\" list");
  }
  return answer[key];
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::cout << format_table(rows);
}

void print_json(const json& answer) {
  std::cout << dump(answer, 2) << '\n';
}

std::string query_of(const command_line& line, std::initializer_list<const char*> names) {
  std::string query;
  for (const char* name : names) {
    if (std::optional<std::string> v = line.value(name)) {
      std::string key = name;
      std::replace(key.begin(), key.end(), '-', '_');
      query += (query.empty() ? "?" : "&") + key + "=" + escape_segment(*v);
    }
  }
  return query;
}


} // namespace expd::tools::expctl
