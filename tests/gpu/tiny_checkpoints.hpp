#pragma once

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

// The tiny checkpoints and the reference of make_tiny_checkpoint.py, which the CTest
// fixture gpu_tiny_checkpoints makes; a test binary run by hand makes them itself.

namespace expd::gpu::test {

/// What `command` prints; a failing command throws.
inline std::string run_command(const std::string& command) {
  auto* pipe = ::popen(command.c_str(), "r");
  if (!pipe)
    throw std::runtime_error("cannot run " + command);
  std::string out;
  char buffer[4096];
  while (auto n = std::fread(buffer, 1, sizeof buffer, pipe))
    out.append(buffer, n);
  if (::pclose(pipe) != 0)
    throw std::runtime_error(command + " failed");
  return out;
}

inline std::string run_python(const std::string& args) {
  return run_command(std::string{EXPD_TORCH_PYTHON} + " " + EXPD_TINY_CHECKPOINT_SCRIPT + " " + args);
}

inline std::filesystem::path tiny_checkpoints() {
  static const std::filesystem::path dir = [] {
    run_python(std::string{"fill "} + EXPD_TINY_CHECKPOINT_DIR);
    return std::filesystem::path{EXPD_TINY_CHECKPOINT_DIR};
  }();
  return dir;
}

/// What the Python reader finds in `file` (make_tiny_checkpoint.py read).
inline nlohmann::json python_read(const std::filesystem::path& file) {
  return nlohmann::json::parse(run_python("read " + file.string()));
}

/// A fresh empty folder for one test.
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path()
             / ("expd-gpu-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

} // namespace expd::gpu::test
