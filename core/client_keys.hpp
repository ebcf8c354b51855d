#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace expd::core {

/// What a client key lets its holder do (docs/api.md, "Client keys").
enum class scope : std::uint8_t {
  assign = 1,           ///< POST /v1/assign
  events_write = 2,     ///< POST /v1/events
  events_read = 4,      ///< GET /v1/events: units' raw events and their context
  experiments_read = 8, ///< drafts in GET /v1/experiments and their pages
};
using scope_set = std::uint8_t;

constexpr bool has(scope_set set, scope s) noexcept {
  return (set & static_cast<scope_set>(s)) != 0;
}

/// "assign,events:write" -> the set; throws std::invalid_argument naming an unknown scope.
scope_set parse_scopes(std::string_view list);

/// The names of `set`, comma-separated, in the enum's order.
std::string scope_names(scope_set set);

/// How a key is kept at rest: "sha256:" and the hex SHA-256 of the key's text.
std::string key_digest(std::string_view key);

struct client_key {
  std::string name;
  std::string environment;
  scope_set scopes = 0;
};

/// The keys file: one key a line, `NAME ENVIRONMENT SCOPES sha256:HEX`, fields apart by
/// blanks, `#` to the end of a line a comment. Only digests are kept, so the file
/// gives away no key; `expctl keys new` makes a key and its line.
class client_keys {
public:
  /// Throws std::invalid_argument "line N: ..." for a malformed line, an unknown
  /// scope, a repeated name or a repeated digest.
  static client_keys parse(std::string_view text);

  /// The key whose digest `presented` has, when it belongs to `environment`. Looks up
  /// by digest, so the time taken depends on the digest, never on how much of a key
  /// matched.
  const client_key* find(std::string_view presented, std::string_view environment) const;

  std::size_t size() const noexcept {
    return by_digest_.size();
  }

private:
  std::unordered_map<std::string, client_key> by_digest_;
};

} // namespace expd::core
