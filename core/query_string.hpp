#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace expd::core {

/// Splits a URL query string into percent-decoded parameters ('+' is a space). Throws
/// field_error naming the parameter for one given twice, a bad escape, a NUL, control
/// character or invalid UTF-8 after decoding ("query" when in a name), or one not in
/// `allowed` (the message lists those).
std::map<std::string, std::string> parse_query_parameters(std::string_view query_string,
                                                          const std::vector<std::string>& allowed);

} // namespace expd::core
