#include "core/bearer_auth.hpp"

namespace expd::core {

bool bearer_token_matches(std::string_view authorization, std::string_view token) noexcept {
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size() || authorization[scheme.size()] != ' ')
    return false;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if ((authorization[i] | 0x20) != scheme[i])
      return false;
  auto credentials = authorization.substr(scheme.size());
  while (!credentials.empty() && credentials.front() == ' ') // 1*SP
    credentials.remove_prefix(1);
  if (token.empty() || credentials.size() != token.size())
    return false;
  unsigned char diff = 0; // no early exit on the first wrong byte
  for (std::size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned char>(credentials[i] ^ token[i]);
  return diff == 0;
}

} // namespace expd::core
