#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// expctl's command line: the words in order and the options by long name, from a table
// of every option any command takes.
namespace expd::tools {

struct option_spec {
  std::string_view name;
  char short_name;
  bool takes_value;
};

/// The parsed line. value() throws usage_error for an option given twice.
struct command_line {
  std::vector<std::string> words; // the command and its positional arguments
  std::multimap<std::string, std::string, std::less<>> options; // long name -> value

  bool has(std::string_view name) const {
    return options.find(name) != options.end();
  }

  std::optional<std::string> value(std::string_view name) const;

  /// value() as a non-negative integer; throws usage_error naming the option when it
  /// is not one.
  std::optional<std::uint64_t> unsigned_value(std::string_view name) const;

  std::vector<std::string> values(std::string_view name) const;
};

/// Accepts --name=value, --name value, -x value and -xvalue (so `-ojson` works);
/// options may come before or after the command, and `--` ends them. Throws
/// usage_error for an option not in `specs`, a missing value, or a value given to a
/// flag.
command_line parse_command_line(int argc, const char* const* argv,
                                const std::vector<option_spec>& specs);

} // namespace expd::tools
