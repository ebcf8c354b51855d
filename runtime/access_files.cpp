#include "runtime/access_files.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace expd::runtime {

namespace {

constexpr std::size_t min_token_length = 16;

std::string file_text(const std::string& path, const char* flag) {
  std::ifstream in{path};
  if (!in)
    throw std::invalid_argument(std::string{flag} + ": cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void add_token(std::vector<std::string>& tokens, std::string token, const std::string& where) {
  if (token.size() < min_token_length)
    throw std::invalid_argument(where + ": an admin token must be at least "
                                + std::to_string(min_token_length) + " characters");
  tokens.push_back(std::move(token));
}

} // namespace

core::access_policy load_access_policy(const node_config& cfg) {
  core::access_policy policy;
  policy.environment = cfg.environment;
  policy.open_scopes = cfg.open_scopes;
  if (!cfg.admin_token.empty())
    add_token(policy.admin_tokens, cfg.admin_token, "EXPD_ADMIN_TOKEN");
  if (!cfg.admin_token_file.empty()) {
    std::istringstream lines{file_text(cfg.admin_token_file, "--admin-token-file")};
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
      line = line.substr(0, line.find('#'));
      auto first = line.find_first_not_of(" \t\r");
      if (first == std::string::npos)
        continue;
      line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
      add_token(policy.admin_tokens, line,
                cfg.admin_token_file + " line " + std::to_string(number));
    }
    if (policy.admin_tokens.empty())
      throw std::invalid_argument("--admin-token-file: " + cfg.admin_token_file
                                  + " holds no token");
  }
  if (!cfg.client_keys_file.empty()) {
    try {
      policy.keys = core::client_keys::parse(file_text(cfg.client_keys_file, "--client-keys"));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("--client-keys: " + cfg.client_keys_file + " " + e.what());
    }
  }
  return policy;
}

} // namespace expd::runtime
