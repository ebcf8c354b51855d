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

/// `?dry_run=` of the admin apply endpoints: "true" or "1", "false" or "0", absent is
/// false. Throws field_error("dry_run") for any other value (a "yes" that applied for
/// real would be the worst reading) and field_error for any other parameter.
bool parse_dry_run_query(std::string_view query_string);

} // namespace expd::core
