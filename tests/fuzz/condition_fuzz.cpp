// The condition compiler on arbitrary JSON. The input is an array
// [condition, context, context, ...], bounded in nesting as the gateway bounds bodies.
// Compiling either succeeds or throws field_error naming a path under "condition";
// matching never throws and agrees with the condition's negation ($nor) and its
// one-element $and / $or wrappers.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/condition.hpp"
#include "core/field_error.hpp"
#include "core/json_depth.hpp"
#include "core/json_parse.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using expd::core::condition;
using nlohmann::json;

namespace {

// The gateway's max_json_depth (actors/gateway/gateway.cpp).
constexpr std::size_t max_depth = 64;

bool compiles(const json& spec, condition& out) {
  try {
    out = condition::compile(spec);
    return true;
  } catch (const expd::core::field_error& e) {
    FUZZ_CHECK(std::string_view(e.field()).substr(0, 9) == "condition");
    return false;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  if (expd::core::json_nesting_exceeds(text, max_depth))
    return 0;
  json input;
  try {
    input = expd::core::parse_json(text);
  } catch (const expd::core::field_error&) { // a key given twice
    return 0;
  }
  if (!input.is_array() || input.empty())
    return 0;
  const json& spec = input[0];
  condition c;
  if (!compiles(spec, c))
    return 0;
  FUZZ_CHECK(c.empty() == (spec.is_null() || spec == json::object()));
  condition negated, both, either;
  const bool wrappable = spec.is_object();
  if (wrappable) {
    FUZZ_CHECK(compiles(json{{"$nor", json::array({spec})}}, negated));
    FUZZ_CHECK(compiles(json{{"$and", json::array({spec})}}, both));
    FUZZ_CHECK(compiles(json{{"$or", json::array({spec})}}, either));
  }
  for (std::size_t i = 1; i < input.size(); ++i) {
    const json& context = input[i];
    const bool match = c.matches(context);
    FUZZ_CHECK(c.matches(context) == match);
    if (wrappable) {
      FUZZ_CHECK(negated.matches(context) != match);
      FUZZ_CHECK(both.matches(context) == match);
      FUZZ_CHECK(either.matches(context) == match);
    }
  }
  return 0;
}
