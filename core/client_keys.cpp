#include "core/client_keys.hpp"

#include <array>
#include <set>
#include <stdexcept>

#include "core/sigv4.hpp"

namespace expd::core {

namespace {

constexpr std::array<std::pair<std::string_view, scope>, 4> scope_table{{
  {"assign", scope::assign},
  {"events:write", scope::events_write},
  {"events:read", scope::events_read},
  {"experiments:read", scope::experiments_read},
}};

constexpr std::string_view digest_prefix = "sha256:";

bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && blank(line[i]))
      ++i;
    auto start = i;
    while (i < line.size() && !blank(line[i]))
      ++i;
    if (i > start)
      out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

} // namespace

scope_set parse_scopes(std::string_view list) {
  scope_set set = 0;
  while (true) {
    auto comma = list.find(',');
    auto name = list.substr(0, comma);
    bool known = false;
    for (auto& [text, s] : scope_table)
      if (name == text) {
        set |= static_cast<scope_set>(s);
        known = true;
      }
    if (!known)
      throw std::invalid_argument("unknown scope \"" + std::string{name}
                                  + "\" (known: " + scope_names(0xff) + ")");
    if (comma == std::string_view::npos)
      return set;
    list.remove_prefix(comma + 1);
  }
}

std::string scope_names(scope_set set) {
  std::string out;
  for (auto& [text, s] : scope_table)
    if (has(set, s))
      out += (out.empty() ? "" : ",") + std::string{text};
  return out;
}

std::string key_digest(std::string_view key) {
  return std::string{digest_prefix} + sha256_hex(key);
}

client_keys client_keys::parse(std::string_view text) {
  client_keys keys;
  std::set<std::string> names;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    auto end = text.find('\n');
    auto line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    auto f = fields_of(line);
    if (f.empty())
      continue;
    auto where = "line " + std::to_string(number) + ": ";
    if (f.size() != 4)
      throw std::invalid_argument(where + "a key is NAME ENVIRONMENT SCOPES sha256:HEX");
    auto digest = f[3];
    if (digest.substr(0, digest_prefix.size()) != digest_prefix
        || digest.size() != digest_prefix.size() + 64
        || !lower_hex(digest.substr(digest_prefix.size())))
      throw std::invalid_argument(where + "the fourth field must be sha256: and 64 lowercase hex "
                                          "digits (expctl keys new prints it)");
    client_key key;
    key.name = std::string{f[0]};
    key.environment = std::string{f[1]};
    try {
      key.scopes = parse_scopes(f[2]);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(where + e.what());
    }
    if (!names.insert(key.name).second)
      throw std::invalid_argument(where + "the name " + key.name + " is used twice");
    if (!keys.by_digest_.emplace(std::string{digest}, std::move(key)).second)
      throw std::invalid_argument(where + "the same key is listed twice");
  }
  return keys;
}

const client_key* client_keys::find(std::string_view presented,
                                    std::string_view environment) const {
  if (by_digest_.empty())
    return nullptr;
  auto it = by_digest_.find(key_digest(presented));
  if (it == by_digest_.end() || it->second.environment != environment)
    return nullptr;
  return &it->second;
}

} // namespace expd::core
