#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace expd::core {

/// Parses `text` as nlohmann::json::parse(text, nullptr, false) does (a discarded value
/// when it is not JSON), with simdjson doing the lexing: nlohmann's lexer is most of the
/// cost of ingesting an event. An object with a key twice, which nlohmann would take
/// with the last value winning, throws field_error naming the key's path
/// ("events[0].unit_id"): which value a client meant, and which one a proxy or another
/// parser in front of expd took, is not ours to guess. Otherwise the value is the one
/// nlohmann would build (non-negative integers unsigned; only "-0" becomes unsigned 0,
/// not signed 0, the same value); whatever simdjson refuses
/// (integers past 64 bits, numbers past double's range, any malformed text) is
/// parsed by nlohmann itself, so both the errors and the edge cases stay nlohmann's, but
/// for one: text with a NUL byte is refused (nlohmann stops at a NUL after the value and
/// would accept "{}\0" followed by anything).
/// Thread-safe: each thread keeps its own simdjson parser (and its buffers).
nlohmann::json parse_json(std::string_view text);

} // namespace expd::core
