#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/error.hpp>

#include "messages/error.hpp"

namespace expd {

/// How the client sees one error code: the one place that knows HTTP for errors.
struct error_row {
  ec code;
  std::uint16_t status;
  std::string_view name;     ///< the client contract's "code"
  std::uint32_t retry_after; ///< seconds for Retry-After; 0: no header
  bool challenge;            ///< answers WWW-Authenticate: Bearer
};

/// The row of `code`; nullptr for a code without one (a test keeps that from happening).
const error_row* find_error_row(ec code) noexcept;

/// An error ready to write.
struct http_error_reply {
  std::uint16_t status;
  std::string body; ///< {"error":{"code","message","field"}} plus the error's detail
  std::vector<std::pair<std::string, std::string>> headers;
};

/// The HTTP answer to `err`. An expd error gets its row, its message and field, and
/// its own Retry-After when it carries one; any other error (CAF's: a request timed
/// out, an actor went away) and a code without a row are 503 "unavailable".
http_error_reply render_http_error(const caf::error& err);

/// The error for a protocol failure of runtime::http_request_parser's `status`.
ec protocol_error_code(int status) noexcept;

} // namespace expd
