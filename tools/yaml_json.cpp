#include "tools/yaml_json.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <regex>
#include <vector>

namespace expd::tools {
namespace {

// Deep enough for any real config; an alias cycle (`&a [*a]`) would otherwise recurse
// until the stack overflows.
constexpr int max_depth = 256;

const std::string str_tag = "tag:yaml.org,2002:str";

std::string where(const YAML::Mark& mark) {
  if (mark.is_null()) {
    return "";
  }
  // yaml-cpp counts from 0; editors count from 1.
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1)
         + ": ";
}

[[noreturn]] void fail(const YAML::Node& node, const std::string& message) {
  throw yaml_error(where(node.Mark()) + message);
}

// yaml-cpp gives plain scalars the tag "?" and quoted or block scalars "!". Other
// explicit tags would ask for types JSON lacks or for a resolution we do not do, so
// they are refused rather than guessed at.
void check_tag(const YAML::Node& node, const std::string& allowed) {
  const std::string& tag = node.Tag();
  if (!tag.empty() && tag != "?" && tag != "!" && tag != allowed) {
    fail(node, "unsupported tag \"" + tag + "\"");
  }
}

// An integer in `digits` (no sign) in `base`, negated if `negative`; out of 64-bit
// range is an error because a JSON double would silently round it.
nlohmann::json integer(const YAML::Node& node, const std::string& digits, int base, bool negative) {
  std::uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    fail(node, "integer out of range: " + node.Scalar());
  }
  constexpr auto int_max = static_cast<std::uint64_t>(INT64_MAX);
  if (!negative) {
    return magnitude <= int_max ? nlohmann::json(static_cast<std::int64_t>(magnitude))
                                : nlohmann::json(magnitude);
  }
  if (magnitude > int_max + 1) {
    fail(node, "integer out of range: " + node.Scalar());
  }
  // Negating in unsigned arithmetic reaches INT64_MIN without overflow.
  return static_cast<std::int64_t>(0 - magnitude);
}

// The YAML 1.2 core schema's resolution of a plain scalar.
nlohmann::json resolve_plain(const YAML::Node& node) {
  static const std::regex null_re("null|Null|NULL|~|");
  static const std::regex true_re("true|True|TRUE");
  static const std::regex false_re("false|False|FALSE");
  static const std::regex decimal_re("([-+]?)([0-9]+)");
  static const std::regex octal_re("0o([0-7]+)");
  static const std::regex hex_re("0x([0-9a-fA-F]+)");
  static const std::regex float_re(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  static const std::regex inf_nan_re(R"([-+]?(\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN)");

  const std::string& text = node.Scalar();
  std::smatch m;
  if (std::regex_match(text, null_re)) {
    return nullptr;
  }
  if (std::regex_match(text, true_re)) {
    return true;
  }
  if (std::regex_match(text, false_re)) {
    return false;
  }
  if (std::regex_match(text, m, decimal_re)) {
    return integer(node, m[2], 10, m[1] == "-");
  }
  if (std::regex_match(text, m, octal_re)) {
    return integer(node, m[1], 8, false);
  }
  if (std::regex_match(text, m, hex_re)) {
    return integer(node, m[1], 16, false);
  }
  if (std::regex_match(text, float_re)) {
    // The regex admits only what strtod reads in full; the "C" locale is in force
    // because nothing here calls setlocale.
    double value = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(value)) {
      fail(node, "number out of range: " + text);
    }
    return value;
  }
  if (std::regex_match(text, inf_nan_re)) {
    fail(node, "JSON cannot represent " + text + "; quote it to keep it as a string");
  }
  return text;
}

nlohmann::json convert(const YAML::Node& node, int depth) {
  if (depth > max_depth) {
    fail(node, "nesting deeper than " + std::to_string(max_depth) + " (alias cycle?)");
  }
  switch (node.Type()) {
  case YAML::NodeType::Undefined:
  case YAML::NodeType::Null:
    return nullptr;
  case YAML::NodeType::Scalar:
    check_tag(node, str_tag);
    // Untagged ("", a node built in code) reads as it would once emitted: plain.
    if (node.Tag() == "!" || node.Tag() == str_tag) {
      return node.Scalar();
    }
    return resolve_plain(node);
  case YAML::NodeType::Sequence: {
    check_tag(node, "tag:yaml.org,2002:seq");
    auto array = nlohmann::json::array();
    for (const auto& item : node) {
      array.push_back(convert(item, depth + 1));
    }
    return array;
  }
  case YAML::NodeType::Map: {
    check_tag(node, "tag:yaml.org,2002:map");
    auto object = nlohmann::json::object();
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) {
        fail(key, "mapping keys must be scalars");
      }
      check_tag(key, str_tag);
      // yaml-cpp keeps both entries of a duplicate key; JSON would keep only one.
      if (!object.emplace(key.Scalar(), convert(entry.second, depth + 1)).second) {
        fail(key, "duplicate key \"" + key.Scalar() + "\"");
      }
    }
    return object;
  }
  }
  fail(node, "unknown YAML node type");
}

} // namespace

nlohmann::json yaml_to_json(const YAML::Node& node) {
  return convert(node, 0);
}

nlohmann::json yaml_text_to_json(const std::string& text) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    throw yaml_error(where(e.mark) + e.msg);
  }
  if (documents.empty()) {
    return nullptr;
  }
  if (documents.size() > 1) {
    fail(documents[1], "expected one YAML document, found " + std::to_string(documents.size()));
  }
  return yaml_to_json(documents.front());
}

nlohmann::json yaml_file_to_json(const std::string& path) {
  // stdio rather than ifstream: it reports a read error (a directory opens fine and
  // fails only on read) apart from an empty file, and keeps errno for the message.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  std::string text;
  char buffer[65536];
  while (file) {
    std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
    text.append(buffer, n);
    if (n < sizeof buffer) {
      break;
    }
  }
  if (!file || std::ferror(file.get())) {
    throw yaml_error(path + ": cannot read: " + std::strerror(errno));
  }
  try {
    return yaml_text_to_json(text);
  } catch (const yaml_error& e) {
    throw yaml_error(path + ": " + e.what());
  }
}

} // namespace expd::tools
