#include "core/bearer_auth.hpp"

namespace expd::core {

std::optional<std::string_view> bearer_credentials(std::string_view authorization) noexcept {
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size() || authorization[scheme.size()] != ' ')
    return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if ((authorization[i] | 0x20) != scheme[i])
      return std::nullopt;
  auto credentials = authorization.substr(scheme.size());
  while (!credentials.empty() && credentials.front() == ' ') // 1*SP
    credentials.remove_prefix(1);
  return credentials;
}

bool bearer_token_matches(std::string_view authorization, std::string_view token) noexcept {
  auto credentials = bearer_credentials(authorization);
  if (!credentials || token.empty() || credentials->size() != token.size())
    return false;
  unsigned char diff = 0; // no early exit on the first wrong byte
  for (std::size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned char>((*credentials)[i] ^ token[i]);
  return diff == 0;
}

} // namespace expd::core
