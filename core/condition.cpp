#include "core/condition.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <memory>

#include <re2/re2.h>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/attribute_path.hpp"
#include "core/field_error.hpp"
#include "core/saved_group.hpp"
#include "core/text_case.hpp"
#include "core/value_set.hpp"

namespace expd::core {

using json = nlohmann::json;

// Every compiled piece tests one value: the context object for a condition, an attribute's
// value for a condition value. A missing attribute is null, as from GrowthBook's getPath.
struct condition::node {
  virtual ~node() = default;
  virtual bool holds(const json& value) const = 0;
};

namespace {

using node = condition::node;
using node_ptr = std::unique_ptr<const node>;

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();
constexpr double infinity = std::numeric_limits<double>::infinity();

// ---- JavaScript conversions --------------------------------------------------------

enum class js_type { null, boolean, number, string, array, object };

js_type type_of(const json& v) {
  switch (v.type()) {
  case json::value_t::null: return js_type::null;
  case json::value_t::boolean: return js_type::boolean;
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
  case json::value_t::number_float: return js_type::number;
  case json::value_t::string: return js_type::string;
  case json::value_t::array: return js_type::array;
  default: return js_type::object;
  }
}

const std::string& text_of(const json& v) {
  return v.get_ref<const std::string&>();
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Bytes of the JS WhiteSpace/LineTerminator code point at s[i] (UTF-8), 0 if none.
std::size_t space_at(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || (c >= '\t' && c <= '\r'))
    return 1;
  if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xA0)
    return 2;
  if (c >= 0xE1 && c <= 0xEF && i + 2 < s.size()) {
    unsigned cp = ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
    if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
        cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF)
      return 3;
  }
  return 0;
}

std::string_view trim_js(std::string_view s) {
  std::size_t begin = 0, end = 0;
  for (std::size_t n; begin < s.size() && (n = space_at(s, begin));)
    begin += n;
  for (std::size_t i = begin; i < s.size();) {
    auto n = space_at(s, i);
    i += n ? n : 1;
    if (!n)
      end = i;
  }
  return s.substr(begin, std::max(begin, end) - begin);
}

// JS StringToNumber: "" is 0, surrounding whitespace is ignored, 0x/0o/0b prefixes and
// Infinity are accepted, anything else that is not a decimal literal is NaN.
double string_to_number(std::string_view text) {
  auto s = trim_js(text);
  if (s.empty())
    return 0;
  char prefix = s.size() > 2 && s[0] == '0' ? static_cast<char>(s[1] | 0x20) : 0;
  if (int radix = prefix == 'x' ? 16 : prefix == 'o' ? 8 : prefix == 'b' ? 2 : 0) {
    double value = 0;
    for (char c : s.substr(2)) {
      char lower = static_cast<char>(c | 0x20);
      int digit = is_digit(c) ? c - '0' : (lower >= 'a' && lower <= 'z') ? lower - 'a' + 10 : radix;
      if (digit >= radix)
        return not_a_number;
      value = value * radix + digit;
    }
    return value;
  }
  bool negative = s[0] == '-';
  if (s[0] == '-' || s[0] == '+')
    s.remove_prefix(1);
  if (s == "Infinity")
    return negative ? -infinity : infinity;
  std::size_t i = 0, mantissa_digits = 0, exponent_digits = 1;
  for (; i < s.size() && is_digit(s[i]); ++i)
    ++mantissa_digits;
  if (i < s.size() && s[i] == '.')
    for (++i; i < s.size() && is_digit(s[i]); ++i)
      ++mantissa_digits;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    if (++i < s.size() && (s[i] == '+' || s[i] == '-'))
      ++i;
    for (exponent_digits = 0; i < s.size() && is_digit(s[i]); ++i)
      ++exponent_digits;
  }
  if (!mantissa_digits || !exponent_digits || i != s.size())
    return not_a_number;
  double value = 0;
  if (std::from_chars(s.data(), s.data() + s.size(), value).ec == std::errc::result_out_of_range)
    value = std::strtod(std::string(s).c_str(), nullptr); // strtod gives inf or 0, as JS does
  return negative ? -value : value;
}

// JS Number::prototype.toString(): shortest round-trip digits laid out per ECMA-262.
void append_number(std::string& out, double d) {
  if (std::isnan(d) || d == 0) {
    out += std::isnan(d) ? "NaN" : "0";
    return;
  }
  if (d < 0) {
    out += '-';
    d = -d;
  }
  if (std::isinf(d)) {
    out += "Infinity";
    return;
  }
  char sci[32];
  auto sci_end = std::to_chars(sci, sci + sizeof sci, d, std::chars_format::scientific).ptr;
  std::string digits;
  const char* p = sci;
  for (; *p != 'e'; ++p)
    if (*p != '.')
      digits += *p;
  int exponent = 0;
  std::from_chars(p + 2, sci_end, exponent);
  int k = static_cast<int>(digits.size());
  int n = (p[1] == '-' ? -exponent : exponent) + 1; // the value is 0.digits * 10^n
  auto size = [](int i) { return static_cast<std::size_t>(i); };
  if (k <= n && n <= 21) {
    out.append(digits).append(size(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, size(n)).append(1, '.').append(digits, size(n));
  } else if (-6 < n && n <= 0) {
    out.append("0.").append(size(-n), '0').append(digits);
  } else {
    out += digits[0];
    if (k > 1)
      out.append(1, '.').append(digits, 1);
    out.append(n - 1 < 0 ? "e-" : "e+").append(std::to_string(std::abs(n - 1)));
  }
}

template <typename Integer>
void append_integer(std::string& out, Integer i) {
  // Beyond 2^53 JS holds only the nearest double, and prints that.
  constexpr Integer exact = Integer(1) << 53;
  bool beyond = i > exact;
  if constexpr (std::is_signed_v<Integer>)
    beyond = beyond || i < -exact;
  char buf[24];
  if (beyond)
    append_number(out, static_cast<double>(i));
  else
    out.append(buf, std::to_chars(buf, buf + sizeof buf, i).ptr);
}

// JS String(v); arrays join their elements with "," as Array.prototype.toString does.
void append_js_string(std::string& out, const json& v) {
  switch (type_of(v)) {
  case js_type::null: out += "null"; return;
  case js_type::boolean: out += v.get<bool>() ? "true" : "false"; return;
  case js_type::string: out += text_of(v); return;
  case js_type::object: out += "[object Object]"; return;
  case js_type::number:
    if (v.is_number_unsigned())
      append_integer(out, v.get<std::uint64_t>());
    else if (v.is_number_integer())
      append_integer(out, v.get<std::int64_t>());
    else
      append_number(out, v.get<double>());
    return;
  case js_type::array:
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i)
        out += ',';
      if (!v[i].is_null())
        append_js_string(out, v[i]);
    }
    return;
  }
}

std::string js_string(const json& v) {
  std::string out;
  append_js_string(out, v);
  return out;
}

// JS ToNumber, which is what `actual * 1` does.
double to_number(const json& v) {
  switch (type_of(v)) {
  case js_type::null: return 0;
  case js_type::boolean: return v.get<bool>() ? 1 : 0;
  case js_type::number: return v.get<double>();
  case js_type::string: return string_to_number(text_of(v));
  case js_type::array: return string_to_number(js_string(v));
  default: return not_a_number;
  }
}

bool truthy(const json& v) {
  switch (type_of(v)) {
  case js_type::null: return false;
  case js_type::boolean: return v.get<bool>();
  case js_type::number: return v.get<double>() != 0 && !std::isnan(v.get<double>());
  case js_type::string: return !text_of(v).empty();
  default: return true;
  }
}

// JS `===`; arrays and objects are distinct objects, so never equal.
bool strictly_equal(const json& a, const json& b) {
  if (type_of(a) != type_of(b))
    return false;
  switch (type_of(b)) {
  case js_type::null: return true;
  case js_type::boolean: return a.get<bool>() == b.get<bool>();
  case js_type::number: return a.get<double>() == b.get<double>();
  case js_type::string: return text_of(a) == text_of(b);
  default: return false;
  }
}

// GrowthBook's paddedVersionString into `out`: "v1.2.3+b" -> "    1-    2-    3-~", so
// that plain string comparison orders versions (numeric parts padded, releases after
// their pre-releases).
void pad_version(const json& v, std::string& out) {
  std::string number;
  if (v.is_number())
    append_js_string(number, v);
  std::string_view s = v.is_string() ? std::string_view(text_of(v)) : number;
  if (s.empty())
    s = "0";
  if (s[0] == 'v')
    s.remove_prefix(1);
  s = s.substr(0, s.find('+'));
  out.clear();
  std::size_t parts = 0;
  for (std::size_t start = 0; start <= s.size(); ++parts) {
    std::size_t end = start;
    bool numeric = true;
    for (; end < s.size() && s[end] != '.' && s[end] != '-'; ++end)
      numeric = numeric && is_digit(s[end]);
    if (parts)
      out += '-';
    if (numeric && end > start && end - start < 5)
      out.append(5 - (end - start), ' ');
    out.append(s.substr(start, end - start));
    start = end + 1;
  }
  if (parts == 3) // '~' is the largest ASCII, so "1.0.0" > "1.0.0-beta"
    out += "-~";
}

enum class comparison { eq, ne, lt, lte, gt, gte };

template <typename T>
bool compare(const T& a, const T& b, comparison c) {
  switch (c) {
  case comparison::eq: return a == b;
  case comparison::ne: return a != b;
  case comparison::lt: return a < b;
  case comparison::lte: return a <= b;
  case comparison::gt: return a > b;
  case comparison::gte: return a >= b;
  }
  return false;
}

// ---- Condition nodes ------------------------------------------------------------

// A node whose test is a lambda holding its compiled (immutable) operands.
template <typename Test>
struct test_node final : node {
  explicit test_node(Test test) : test(std::move(test)) {}
  bool holds(const json& v) const override {
    return test(v);
  }
  Test test;
};

template <typename Test>
node_ptr make_node(Test test) {
  return std::make_unique<test_node<Test>>(std::move(test));
}

node_ptr all_of(std::vector<node_ptr> parts) {
  if (parts.size() == 1)
    return std::move(parts.front());
  return make_node([parts = std::move(parts)](const json& v) {
    return std::all_of(parts.begin(), parts.end(), [&v](const node_ptr& p) { return p->holds(v); });
  });
}

// $or; GrowthBook treats an empty list as satisfied (so an empty $nor fails).
node_ptr any_of(std::vector<node_ptr> parts) {
  return make_node([parts = std::move(parts)](const json& v) {
    return parts.empty() ||
           std::any_of(parts.begin(), parts.end(), [&v](const node_ptr& p) { return p->holds(v); });
  });
}

node_ptr negation(node_ptr inner) {
  return make_node([inner = std::move(inner)](const json& v) { return !inner->holds(v); });
}

node_ptr none_of(std::vector<node_ptr> parts) {
  return make_node([parts = std::move(parts)](const json& v) {
    return std::none_of(parts.begin(), parts.end(), [&v](const node_ptr& p) { return p->holds(v); });
  });
}

// $lt $lte $gt $gte with JS relational semantics: after ToPrimitive, two strings compare
// by code units (bytes of UTF-8 here), anything else numerically, NaN never matching.
node_ptr relational(comparison op, const json& operand) {
  bool operand_is_text = operand.is_string() || operand.is_structured();
  std::string operand_text = operand_is_text ? js_string(operand) : std::string();
  double operand_number = operand_is_text ? string_to_number(operand_text) : to_number(operand);
  auto compare_text = [=](std::string_view actual) {
    if (operand_is_text)
      return compare(actual, std::string_view(operand_text), op);
    return compare(string_to_number(actual), operand_number, op);
  };
  return make_node([=](const json& v) {
    if (v.is_string())
      return compare_text(text_of(v));
    if (v.is_structured())
      return compare_text(js_string(v));
    return compare(to_number(v), operand_number, op);
  });
}

// ---- Compilation ----------------------------------------------------------------

// What compiling one spec carries down: where its saved groups are found, and the
// names it found them by.
struct compiler {
  const group_lookup& groups;
  std::vector<std::string>& named;

  std::shared_ptr<const saved_group> group(const json& name, const std::string& path,
                                           const std::string& op) const {
    if (!name.is_string() || text_of(name).empty())
      throw field_error(path, op + " expects the name of a saved group");
    auto found = groups.find(text_of(name), path);
    named.push_back(text_of(name));
    return found;
  }
};

node_ptr compile_condition(const json& spec, const std::string& path, const compiler& c);
node_ptr compile_value(const json& spec, const std::string& path, const compiler& c,
                       bool insensitive = false);

bool is_operator_object(const json& v) {
  if (!v.is_object() || v.empty())
    return false;
  for (auto it = v.begin(); it != v.end(); ++it)
    if (it.key().empty() || it.key()[0] != '$')
      return false;
  return true;
}

// The operators of an attribute's value. At the context level GrowthBook would read
// one as an attribute's name, which is surely a mistake, so it is refused there.
bool is_value_operator(std::string_view key) {
  static const std::string_view names[] = {
    "$eq",     "$ne",     "$gt",    "$gte",    "$lt",        "$lte",        "$in",
    "$nin",    "$ini",    "$nini",  "$exists", "$regex",     "$regexi",     "$all",
    "$alli",   "$size",   "$type",  "$veq",    "$vne",       "$vgt",        "$vgte",
    "$vlt",    "$vlte",   "$elemMatch",        "$inGroup",   "$notInGroup"};
  return std::find(std::begin(names), std::end(names), key) != std::end(names);
}

std::vector<node_ptr> compile_conditions(const json& list, const std::string& path,
                                         const compiler& c) {
  if (!list.is_array())
    throw field_error(path, "expected an array of conditions");
  std::vector<node_ptr> parts;
  for (std::size_t i = 0; i < list.size(); ++i)
    parts.push_back(compile_condition(list[i], path + "[" + std::to_string(i) + "]", c));
  return parts;
}

node_ptr group_holds(std::shared_ptr<const saved_group> group) {
  return make_node([group = std::move(group)](const json& context) { return group->holds(context); });
}

// $savedGroups / $notSavedGroups, GrowthBook's form in stored conditions: one name or a
// list of names.
std::vector<node_ptr> compile_group_list(const json& names, const std::string& path,
                                         const std::string& op, const compiler& c) {
  std::vector<node_ptr> parts;
  if (!names.is_array()) {
    parts.push_back(group_holds(c.group(names, path, op)));
    return parts;
  }
  for (std::size_t i = 0; i < names.size(); ++i)
    parts.push_back(group_holds(c.group(names[i], path + "[" + std::to_string(i) + "]", op)));
  return parts;
}

node_ptr compile_condition(const json& spec, const std::string& path, const compiler& c) {
  if (!spec.is_object())
    throw field_error(path, "a condition must be an object");
  std::vector<node_ptr> clauses;
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    const auto& key = it.key();
    auto at = path + "." + key;
    if (key == "$and") {
      clauses.push_back(all_of(compile_conditions(it.value(), at, c)));
    } else if (key == "$or") {
      clauses.push_back(any_of(compile_conditions(it.value(), at, c)));
    } else if (key == "$nor") {
      clauses.push_back(negation(any_of(compile_conditions(it.value(), at, c))));
    } else if (key == "$not") {
      clauses.push_back(negation(compile_condition(it.value(), at, c)));
    } else if (key == "$savedGroup") {
      clauses.push_back(group_holds(c.group(it.value(), at, key)));
    } else if (key == "$savedGroups") {
      clauses.push_back(all_of(compile_group_list(it.value(), at, key, c)));
    } else if (key == "$notSavedGroups") {
      clauses.push_back(none_of(compile_group_list(it.value(), at, key, c)));
    } else if (is_value_operator(key)) {
      throw field_error(at, key + " tests an attribute's value: write {\"ATTRIBUTE\": {\"" + key
                              + "\": ...}}");
    } else { // an attribute, whatever its first character, as in GrowthBook ("$groups")
      auto test = compile_value(it.value(), at, c);
      clauses.push_back(
        make_node([path = attribute_path(key), test = std::move(test)](const json& object) {
          return test->holds(path.in(object));
        }));
    }
  }
  return all_of(std::move(clauses));
}

std::optional<comparison> comparison_named(std::string_view name) {
  static const std::pair<std::string_view, comparison> names[] = {
    {"eq", comparison::eq},   {"ne", comparison::ne}, {"lt", comparison::lt},
    {"lte", comparison::lte}, {"gt", comparison::gt}, {"gte", comparison::gte}};
  for (const auto& [n, c] : names)
    if (name == n)
      return c;
  return std::nullopt;
}

// nullopt for an unknown name; "undefined" is known but no value has it (missing is null).
std::optional<std::optional<js_type>> type_named(const json& name) {
  static const std::pair<std::string_view, std::optional<js_type>> names[] = {
    {"null", js_type::null},     {"array", js_type::array},     {"string", js_type::string},
    {"number", js_type::number}, {"boolean", js_type::boolean}, {"object", js_type::object},
    {"undefined", std::nullopt}};
  for (const auto& [n, t] : names)
    if (name.is_string() && text_of(name) == n)
      return std::make_optional(t); // engaged, even for "undefined"'s empty inner
  return std::nullopt;
}

node_ptr compile_operator(const std::string& name, const json& operand, const std::string& path,
                          const compiler& c) {
  if (name == "$eq" || name == "$ne") {
    bool negated = name == "$ne";
    return make_node(
      [operand, negated](const json& v) { return strictly_equal(v, operand) != negated; });
  }
  std::string_view bare = std::string_view(name).substr(1);
  if (auto op = comparison_named(bare))
    return relational(*op, operand); // $eq and $ne were handled above
  if (auto op = !bare.empty() && bare[0] == 'v' ? comparison_named(bare.substr(1)) : std::nullopt) {
    if (!operand.is_string() && !operand.is_number())
      throw field_error(path, name + " expects a version string");
    std::string padded;
    pad_version(operand, padded);
    return make_node([op = *op, padded = std::move(padded)](const json& v) {
      thread_local std::string actual; // reused so that matching does not allocate
      pad_version(v, actual);
      return compare(actual, padded, op);
    });
  }
  if (name == "$exists") {
    if (!operand.is_boolean())
      throw field_error(path, "$exists expects true or false");
    return make_node(
      [expected = operand.get<bool>()](const json& v) { return v.is_null() != expected; });
  }
  if (name == "$in" || name == "$nin" || name == "$ini" || name == "$nini") {
    if (!operand.is_array())
      throw field_error(path, name + " expects an array");
    bool negated = name[1] == 'n' && name[2] == 'i';
    bool fold = name.back() == 'i';
    return make_node([set = value_set(operand, fold), negated](const json& v) {
      return set.matches(v) != negated;
    });
  }
  if (name == "$inGroup" || name == "$notInGroup") {
    auto group = c.group(operand, path, name);
    if (!group->is_list())
      throw field_error(path, name + " takes an id list, and saved group \"" + group->name()
                                + "\" is a condition: use {\"$savedGroup\": \"" + group->name()
                                + "\"} beside the attributes");
    bool negated = name == "$notInGroup";
    return make_node([group = std::move(group), negated](const json& v) {
      return group->has_id(v) != negated;
    });
  }
  if (name == "$all" || name == "$alli") {
    if (!operand.is_array())
      throw field_error(path, name + " expects an array");
    std::vector<node_ptr> tests;
    for (std::size_t i = 0; i < operand.size(); ++i)
      tests.push_back(
        compile_value(operand[i], path + "[" + std::to_string(i) + "]", c, name == "$alli"));
    return make_node([tests = std::move(tests)](const json& v) {
      auto found = [&v](const node_ptr& t) {
        return std::any_of(v.begin(), v.end(), [&t](const json& e) { return t->holds(e); });
      };
      return v.is_array() && std::all_of(tests.begin(), tests.end(), found);
    });
  }
  if (name == "$not")
    return negation(compile_value(operand, path, c));
  if (name == "$size") {
    if (!operand.is_number() && !is_operator_object(operand))
      throw field_error(path, "$size expects a number or an operator object");
    return make_node([test = compile_value(operand, path, c)](const json& v) {
      if (!v.is_array())
        return false;
      const json length(static_cast<std::uint64_t>(v.size())); // a number: no allocation
      return test->holds(length);
    });
  }
  if (name == "$elemMatch") {
    if (!operand.is_object())
      throw field_error(path, "$elemMatch expects an object");
    auto test = is_operator_object(operand) ? compile_value(operand, path, c)
                                            : compile_condition(operand, path, c);
    // GrowthBook tests `actual[i] && check(actual[i])`: 0, NaN, "", false, null never match.
    return make_node([test = std::move(test)](const json& v) {
      auto match = [&test](const json& e) { return truthy(e) && test->holds(e); };
      return v.is_array() && std::any_of(v.begin(), v.end(), match);
    });
  }
  if (name == "$regex" || name == "$regexi") {
    if (!operand.is_string())
      throw field_error(path, name + " expects a string");
    // RE2 matches in time linear in the value: a client's long context string cannot
    // hold a shard, as backtracking (exponential) or even libstdc++'s automaton
    // (quadratic for an unanchored search) could. It has no back-references or
    // look-around, which are refused here.
    RE2::Options options;
    options.set_log_errors(false);
    options.set_case_sensitive(name == "$regex");
    auto pattern = std::make_shared<const RE2>(text_of(operand), options);
    if (!pattern->ok())
      throw field_error(path, "invalid regular expression: " + pattern->error());
    return make_node([pattern](const json& v) {
      return v.is_string() ? RE2::PartialMatch(text_of(v), *pattern)
                           : RE2::PartialMatch(js_string(v), *pattern);
    });
  }
  if (name == "$type") {
    auto type = type_named(operand);
    if (!type)
      throw field_error(path, "$type expects null, array, string, number, boolean, object "
                              "or undefined");
    return make_node([type = *type](const json& v) { return type && type_of(v) == *type; });
  }
  throw field_error(path, "unknown operator " + name);
}

// `insensitive`: inside $alli, where GrowthBook compares a string operand with
// String(value) after toLowerCase() on both; other operands compare as elsewhere.
node_ptr compile_value(const json& spec, const std::string& path, const compiler& c,
                       bool insensitive) {
  switch (type_of(spec)) {
  case js_type::string:
    if (insensitive) {
      std::string folded;
      js_lower_case(text_of(spec), folded);
      return make_node([folded = std::move(folded)](const json& v) {
        thread_local std::string text, lower; // reused so that matching does not allocate
        text.clear();
        append_js_string(text, v);
        js_lower_case(text, lower);
        return lower == folded;
      });
    }
    return make_node([text = text_of(spec)](const json& v) {
      return v.is_string() ? text_of(v) == text : js_string(v) == text;
    });
  case js_type::number:
    return make_node(
      [number = spec.get<double>()](const json& v) { return to_number(v) == number; });
  case js_type::boolean:
    return make_node([expected = spec.get<bool>()](const json& v) {
      return !v.is_null() && truthy(v) == expected;
    });
  case js_type::null: return make_node([](const json& v) { return v.is_null(); });
  default: break;
  }
  if (!is_operator_object(spec)) // arrays and plain objects compare deeply
    return make_node([literal = spec](const json& v) { return v == literal; });
  std::vector<node_ptr> operators;
  for (auto it = spec.begin(); it != spec.end(); ++it)
    operators.push_back(compile_operator(it.key(), it.value(), path + "." + it.key(), c));
  return all_of(std::move(operators));
}

} // namespace

condition::condition() = default;

condition::condition(std::shared_ptr<const node> root, std::vector<std::string> groups)
  : root_(std::move(root)) {
  if (!groups.empty())
    groups_ = std::make_shared<const std::vector<std::string>>(std::move(groups));
}

condition condition::compile(const json& spec, const std::string& path, const group_lookup* groups) {
  if (spec.is_null() || (spec.is_object() && spec.empty()))
    return condition();
  static const saved_group_set no_groups;
  std::vector<std::string> named;
  std::shared_ptr<const node> root = compile_condition(spec, path, {groups ? *groups : static_cast<const group_lookup&>(no_groups), named});
  std::sort(named.begin(), named.end());
  named.erase(std::unique(named.begin(), named.end()), named.end());
  return condition(std::move(root), std::move(named));
}

condition condition::nobody() {
  return condition(make_node([](const json&) { return false; }), {});
}

bool condition::matches(const json& context) const {
  if (!root_)
    return true;
  static const json no_attributes = json::object();
  return root_->holds(context.is_object() ? context : no_attributes);
}

bool condition::empty() const noexcept {
  return !root_;
}

const std::vector<std::string>& condition::saved_groups() const noexcept {
  static const std::vector<std::string> none;
  return groups_ ? *groups_ : none;
}

} // namespace expd::core
