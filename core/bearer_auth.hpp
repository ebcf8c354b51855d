#pragma once

#include <optional>
#include <string_view>

namespace expd::core {

/// The credentials of an Authorization header's value in the Bearer scheme, matched in
/// any letter case (RFC 9110 section 11.1); nullopt for another scheme or none.
std::optional<std::string_view> bearer_credentials(std::string_view authorization) noexcept;

/// True when `authorization` (an Authorization header's value) is the Bearer scheme,
/// in any letter case (RFC 9110 section 11.1), with exactly `token` as credentials. The
/// token is compared in constant time so that the answer's timing does not tell how
/// much of a guess was right.
bool bearer_token_matches(std::string_view authorization, std::string_view token) noexcept;

} // namespace expd::core
