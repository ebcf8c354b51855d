#pragma once

#include <string>
#include <string_view>

namespace expd::core {

/// Throws field_error(`field`) when `text` holds what PostgreSQL's text and jsonb cannot
/// store (NUL, invalid UTF-8) or, unless `controls`, a control character. `what` names
/// the text in the message ("unit_id", "a key in context").
void check_text(std::string_view text, bool controls, const std::string& field,
                const std::string& what);

/// `text` with every NUL and every byte that starts no valid UTF-8 sequence replaced by
/// U+FFFD, so what a model generated can be answered as JSON and stored.
std::string storable_text(std::string_view text);

} // namespace expd::core
