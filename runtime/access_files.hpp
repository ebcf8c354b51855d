#pragma once

#include "core/access_policy.hpp"
#include "runtime/node_config.hpp"

namespace expd::runtime {

/// The access policy `cfg` names: EXPD_ADMIN_TOKEN or the tokens of
/// --admin-token-file (one a line, at least 16 characters, `#` comments), the keys of
/// --client-keys, --environment and --open-scopes. node/main.cpp reads it at start and
/// again on SIGHUP, so admin tokens rotate and keys change without a restart. Throws
/// std::invalid_argument naming the file and what is wrong; nothing of a bad file is
/// taken.
core::access_policy load_access_policy(const node_config& cfg);

} // namespace expd::runtime
