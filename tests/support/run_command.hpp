#pragma once

// Runs a shell command and reads what it writes, for tests that run a program or a
// reference script and check its output and exit status.

#include <cstdio>
#include <string>

namespace expd::test {

struct command_output {
  int status = -1; ///< as pclose() gives it (0: exited 0; WEXITSTATUS for the code)
  std::string out; ///< standard output (add 2>&1 for errors too)
};

/// Runs `command` in a shell and reads all it writes.
inline command_output run_command(const std::string& command) {
  command_output r;
  auto* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr)
    return r;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0)
    r.out.append(buf, n);
  r.status = ::pclose(pipe);
  return r;
}

/// `text` in single quotes for a POSIX shell.
inline std::string shell_quoted(const std::string& text) {
  std::string quoted = "'";
  for (char c : text)
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

} // namespace expd::test
