#include "tools/client_key.hpp"

#include <random>
#include <stdexcept>

#include "core/client_keys.hpp"
#include "tools/cli_errors.hpp"

namespace expd::tools {

namespace {

void check_word(const std::string& what, const std::string& value) {
  if (value.empty() || value.find_first_of(" \t\r\n#") != std::string::npos)
    throw std::invalid_argument(what + " must be one word without '#'");
}

} // namespace

std::string new_client_key() {
  std::random_device source; // the kernel's random source on Linux
  static constexpr char digits[] = "0123456789abcdef";
  std::string key = "expd_";
  for (int i = 0; i < 8; ++i) {
    auto word = source();
    for (int nibble = 0; nibble < 8; ++nibble, word >>= 4)
      key += digits[word & 0xf];
  }
  return key;
}

std::string client_key_line(const std::string& name, const std::string& environment,
                            const std::string& scopes, const std::string& key) {
  check_word("the key's name", name);
  check_word("--environment", environment);
  auto set = core::parse_scopes(scopes);
  return name + " " + environment + " " + core::scope_names(set) + " " + core::key_digest(key);
}

void print_new_client_key(const std::string& name, const std::string& environment,
                          const std::string& scopes, std::ostream& out) {
  auto key = new_client_key();
  std::string line;
  try {
    line = client_key_line(name, environment, scopes, key);
  } catch (const std::invalid_argument& e) {
    throw input_error(e.what());
  }
  out << "key:  " << key << "\n"
      << "line: " << line << "\n"
      << "Add the line to expd's --client-keys file and send expd SIGHUP; the key is not "
         "shown again.\n";
}

} // namespace expd::tools
