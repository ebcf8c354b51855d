#pragma once

#include <stdexcept>

// How expctl fails: each error type is one exit status (tools/expctl.cpp, main).
namespace expd::tools {

// Exit 2, with a pointer to the usage text.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Exit 2: an input (file, token, JSON argument) is unreadable or invalid.
struct input_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Exit 1: the server answered, with an error or something unintelligible.
struct server_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Exit 3: no answer at all (refused, unresolvable, timed out).
struct unreachable_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

} // namespace expd::tools
