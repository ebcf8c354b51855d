#include "core/access_policy.hpp"

#include "core/bearer_auth.hpp"

namespace expd::core {

bool access_policy::admin(const std::string* authorization) const noexcept {
  if (authorization == nullptr)
    return false;
  bool any = false;
  for (auto& token : admin_tokens)
    any |= bearer_token_matches(*authorization, token);
  return any;
}

bool access_policy::grants(const std::string* authorization, scope s) const {
  if (has(open_scopes, s) || admin(authorization))
    return true;
  if (authorization == nullptr)
    return false;
  auto presented = bearer_credentials(*authorization);
  auto* key = presented ? keys.find(*presented, environment) : nullptr;
  return key != nullptr && has(key->scopes, s);
}

} // namespace expd::core
