#pragma once

#include <string>

namespace expd::tools {

/// A new client key: "expd_" and 64 hex digits from the system's random source.
std::string new_client_key();

/// The keys file line (core::client_keys) for `key`: only its digest, never the key.
/// Throws std::invalid_argument for an unknown scope or a name or environment with a
/// blank or '#'.
std::string client_key_line(const std::string& name, const std::string& environment,
                            const std::string& scopes, const std::string& key);

} // namespace expd::tools
