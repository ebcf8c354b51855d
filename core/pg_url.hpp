#pragma once

#include <string>
#include <utility>
#include <vector>

namespace expd::core {

/// `url` with each of `options` that it does not set itself: query parameters of a
/// postgresql:// (or postgres://) URI, keyword=value pairs of a libpq connection string
/// otherwise. An option the operator gave keeps the operator's value.
std::string with_pg_options(const std::string& url,
                            const std::vector<std::pair<std::string, std::string>>& options);

} // namespace expd::core
