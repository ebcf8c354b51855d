// core::parse_json against nlohmann's own parser (as tests/core/json_parse_test.cpp
// does): both accept or both refuse (but for a NUL byte, json_parse.hpp), and build
// identical values. json_nesting_exceeds is checked on the same text: it must never
// miss the parsed value's depth.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/json_depth.hpp"
#include "core/field_error.hpp"
#include "core/json_parse.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/support/json_identical.hpp"

using expd::test::identical;
using nlohmann::json;

namespace {

std::size_t depth(const json& v) {
  if (!v.is_structured())
    return 0;
  std::size_t deepest = 0;
  for (const auto& item : v)
    deepest = std::max(deepest, depth(item));
  return deepest + 1;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  // parse_json refuses a NUL byte, which nlohmann takes for the end of the input.
  const auto expected = text.find('\0') == std::string_view::npos ? json::parse(text, nullptr, false)
                                                                  : json(json::value_t::discarded);
  json got;
  try {
    got = expd::core::parse_json(text);
  } catch (const expd::core::field_error&) {
    // A key given twice: refused only in text that is JSON otherwise.
    FUZZ_CHECK(!expected.is_discarded());
    return 0;
  }
  FUZZ_CHECK(expected.is_discarded() == got.is_discarded());
  if (expected.is_discarded())
    return 0;
  FUZZ_CHECK(identical(expected, got));
  const auto d = depth(expected);
  // The check callers rely on: a value nested d deep is never let through a bound
  // below d. (The text may nest deeper: a duplicate key's discarded value.)
  FUZZ_CHECK(d == 0 || expd::core::json_nesting_exceeds(text, d - 1));
  return 0;
}
