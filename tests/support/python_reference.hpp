#pragma once

// Runs reference scripts with Debian's /usr/bin/python3 (never a venv's python3 first
// on PATH), or with the Python named, for a reference from PyPI that deploy/ installs
// into var/venv; for tests that compare against an independent implementation.

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

namespace expd::test {

/// Whether `python` (/usr/bin/python3 unless a test's reference lives in var/venv) runs
/// and imports every module in `modules` (space separated, may be empty): tests skip
/// when it does not.
inline bool python_has(const std::string& modules = "", const std::string& python = "/usr/bin/python3") {
  if (::access(python.c_str(), X_OK) != 0)
    return false;
  std::string imports;
  for (std::size_t at = 0, end; at < modules.size(); at = end + 1) {
    end = modules.find(' ', at);
    if (end == std::string::npos)
      end = modules.size();
    imports += "import " + modules.substr(at, end - at) + "; ";
  }
  auto command = python + " -c '" + imports + "' >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

/// Runs the script at `script_path` with `lines` on its stdin, one per line; returns
/// its stdout lines.
inline std::vector<std::string> run_python_file(const std::string& script_path,
                                                const std::vector<std::string>& lines,
                                                const std::string& python = "/usr/bin/python3") {
  auto input_path = testing::TempDir() + "python_input_" + std::to_string(::getpid()) + ".txt";
  {
    std::ofstream input(input_path);
    for (auto& line : lines)
      input << line << '\n';
  }
  std::vector<std::string> out;
  auto command = python + " " + script_path + " < " + input_path;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    std::string line;
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe)) {
      line += buffer;
      if (line.back() != '\n')
        continue;
      line.pop_back();
      out.push_back(std::move(line));
      line.clear();
    }
    ::pclose(pipe);
  }
  std::remove(input_path.c_str());
  return out;
}

/// As run_python_file, with the script's text.
inline std::vector<std::string> run_python(const std::string& script,
                                           const std::vector<std::string>& lines) {
  auto script_path = testing::TempDir() + "python_script_" + std::to_string(::getpid()) + ".py";
  std::ofstream(script_path) << script;
  auto out = run_python_file(script_path, lines);
  std::remove(script_path.c_str());
  return out;
}

} // namespace expd::test
