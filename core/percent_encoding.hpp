#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace expd::core {

/// RFC 3986 percent-encoding as SigV4 and S3 define it: A-Z a-z 0-9 - . _ ~ stay, every
/// other byte becomes %XX (upper-case hex); '/' stays when `keep_slash` (paths).
std::string uri_encode(std::string_view text, bool keep_slash);

/// The bytes behind %XX escapes ('+' stays '+'); nullopt when a '%' is not followed by
/// two hex digits.
std::optional<std::string> uri_decode(std::string_view text);

/// Every byte as two lower-case hex digits ("\0x" -> "0078").
std::string hex_encode(std::string_view bytes);

} // namespace expd::core
