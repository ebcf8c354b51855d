#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace expd::tools {

/// A YAML document that cannot become JSON, or could not be read. The message names
/// the place ("line 3, column 7: duplicate key \"name\""), prefixed by the file's path
/// when it came from a file.
class yaml_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Converts a parsed YAML node to JSON, resolving plain scalars by the YAML 1.2 core
/// schema: null/Null/NULL/~/empty -> null; true/True/TRUE/false/... -> bool;
/// [-+]?[0-9]+, 0o17, 0x1F -> integer; 1.5, .5, 1e3, 1. -> number; anything else
/// (1.2.3, yes, on) -> string. Quoted and block scalars and `!!str` stay strings.
/// Mappings become objects keyed by the key's text, sequences become arrays.
///
/// Throws yaml_error for what JSON cannot hold or would silently lose: duplicate keys,
/// collection or null keys, .inf/.nan, integers beyond 64 bits, tags other than
/// `!!str`/`!!map`/`!!seq`, and nesting deeper than 256 (also stops alias cycles).
nlohmann::json yaml_to_json(const YAML::Node& node);

/// Parses `text` (one YAML document; none gives null) and converts it. Syntax errors
/// become yaml_error with the line and column.
nlohmann::json yaml_text_to_json(const std::string& text);

/// Reads and converts the YAML file at `path`; errors are prefixed with `path`.
nlohmann::json yaml_file_to_json(const std::string& path);

} // namespace expd::tools
