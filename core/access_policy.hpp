#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/client_keys.hpp"

namespace expd::core {

/// Who may call what (docs/api.md, "Credentials"): the admin tokens, any of which opens
/// everything; the client keys of this node's environment, each opening its scopes;
/// and the scopes open to anyone (by default assignments and event posts, as flag
/// services leave their evaluation endpoints to SDK keys that are not secrets).
struct access_policy {
  std::vector<std::string> admin_tokens;
  client_keys keys;
  std::string environment = "default";
  scope_set open_scopes = static_cast<scope_set>(scope::assign)
                          | static_cast<scope_set>(scope::events_write);

  /// `authorization` (an Authorization header's value, or null) holds an admin token;
  /// compared in constant time with every one, so timing tells neither which nor how much.
  bool admin(const std::string* authorization) const noexcept;

  /// The caller may do `s`: it is open, or an admin token or a key with `s` is given.
  bool grants(const std::string* authorization, scope s) const;
};

using access_policy_ptr = std::shared_ptr<const access_policy>;

} // namespace expd::core
