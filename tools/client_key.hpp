#pragma once

#include <ostream>
#include <string>

namespace expd::tools {

/// A new client key: "expd_" and 64 hex digits from the system's random source.
std::string new_client_key();

/// The keys file line (core::client_keys) for `key`: only its digest, never the key.
/// Throws std::invalid_argument for an unknown scope or a name or environment with a
/// blank or '#'.
std::string client_key_line(const std::string& name, const std::string& environment,
                            const std::string& scopes, const std::string& key);

/// `expctl keys new`: makes a key and writes it (once) and its line to `out`, with what
/// to do next. Throws input_error for a bad name, environment or scope.
void print_new_client_key(const std::string& name, const std::string& environment,
                          const std::string& scopes, std::ostream& out);

} // namespace expd::tools
