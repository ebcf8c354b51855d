#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

// expctl's HTTP: one libcurl request at a time against expd's JSON API.
namespace expd::tools {

struct http_response {
  long status = 0;
  std::string body;
};

/// One request to `url`; a POST of JSON when `body` is given, with a bearer token when
/// `token` is not empty. Throws unreachable_error when no HTTP answer came back.
http_response perform(const std::string& url, const std::optional<std::string>& body,
                      const std::string& token, long timeout_seconds);

/// "<message> (field: <field>) [HTTP <status> <code>]" from the API's error body, or
/// the start of the body when it is not the API's error shape.
std::string describe_error(const http_response& response);

/// Dumps without throwing on invalid UTF-8 from the server.
std::string dump(const nlohmann::json& value, int indent = -1);

/// Percent-encodes a path segment or query value.
std::string escape_segment(const std::string& text);

} // namespace expd::tools
