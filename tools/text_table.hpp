#pragma once

#include <string>
#include <vector>

namespace expd::tools {

/// Columns padded to their widest cell, two spaces apart, a line a row; rows[0] is the
/// header.
std::string format_table(const std::vector<std::vector<std::string>>& rows);

} // namespace expd::tools
