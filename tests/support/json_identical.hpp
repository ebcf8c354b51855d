#pragma once

// What "parse_json builds the value nlohmann builds" means, for its unit test and its
// fuzz target.

#include <cstddef>

#include <nlohmann/json.hpp>

namespace expd::test {

/// Equal values of equal types all the way down: 1 and 1u compare equal in nlohmann,
/// but validation tells unsigned from signed, so parse_json must match the type too.
/// The one exception: simdjson keeps no sign on an integer zero, so "-0" comes back as
/// unsigned 0 where nlohmann builds signed 0; both hold the same value and dump as "0".
inline bool identical(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_number_integer() && b.is_number_integer() && a == 0 && b == 0)
    return true;
  if (a.type() != b.type())
    return false;
  if (a.is_object()) {
    if (a.size() != b.size())
      return false;
    for (auto it = a.begin(), jt = b.begin(); it != a.end(); ++it, ++jt)
      if (it.key() != jt.key() || !identical(it.value(), jt.value()))
        return false;
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size())
      return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!identical(a[i], b[i]))
        return false;
    return true;
  }
  if (a.is_number_float())
    return a.get<double>() == b.get<double>() || (a.get<double>() != a.get<double>());
  return a == b;
}

} // namespace expd::test
