#include "tools/command_line.hpp"

#include <charconv>
#include <iterator>

#include "tools/cli_errors.hpp"

namespace expd::tools {

namespace {

const option_spec* find_option(std::string_view arg, const std::vector<option_spec>& specs) {
  bool is_long = arg.substr(0, 2) == "--";
  for (const auto& spec : specs) {
    if (is_long ? arg.substr(2) == spec.name : arg.size() == 2 && arg[1] == spec.short_name) {
      return &spec;
    }
  }
  return nullptr;
}

} // namespace

std::optional<std::string> command_line::value(std::string_view name) const {
  auto [first, last] = options.equal_range(name);
  if (first == last) {
    return std::nullopt;
  }
  if (std::next(first) != last) {
    throw usage_error("--" + std::string(name) + " given more than once");
  }
  return first->second;
}

std::optional<std::uint64_t> command_line::unsigned_value(std::string_view name) const {
  const auto text = value(name);
  if (!text) {
    return std::nullopt;
  }
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), number);
  if (ec != std::errc() || end != text->data() + text->size()) {
    throw usage_error("--" + std::string(name) + " must be a non-negative integer, not \"" + *text + "\"");
  }
  return number;
}

std::vector<std::string> command_line::values(std::string_view name) const {
  std::vector<std::string> result;
  for (auto [it, last] = options.equal_range(name); it != last; ++it) {
    result.push_back(it->second);
  }
  return result;
}

command_line parse_command_line(int argc, const char* const* argv,
                                const std::vector<option_spec>& specs) {
  command_line line;
  bool options_ended = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_ended || arg.size() < 2 || arg[0] != '-') {
      line.words.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    std::optional<std::string> value;
    std::string name = arg;
    if (arg[1] == '-') {
      if (auto eq = arg.find('='); eq != std::string::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
      }
    } else if (arg.size() > 2) {
      name = arg.substr(0, 2);
      value = arg.substr(2);
    }
    const option_spec* spec = find_option(name, specs);
    if (spec == nullptr) {
      throw usage_error("unknown option " + name);
    }
    if (spec->takes_value && !value) {
      if (i + 1 == argc) {
        throw usage_error("option " + name + " needs a value");
      }
      value = argv[++i];
    }
    if (!spec->takes_value && value) {
      throw usage_error("option " + name + " takes no value");
    }
    line.options.emplace(spec->name, value.value_or(""));
  }
  return line;
}

} // namespace expd::tools
