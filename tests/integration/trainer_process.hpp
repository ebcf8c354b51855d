#pragma once

// What the suites that train share: an expd-trainer process, and the tiny checkpoint
// with its tokenizer that it fine-tunes.
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "tests/support/run_command.hpp"

extern char** environ;

namespace expd::testing {

/// A process of the test's (expd-trainer), killed at the end if it still runs.
class child {
public:
  child(std::vector<std::string> argv, const std::string& log) {
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&files, 1, 2);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &files, nullptr, args.data(), environ) != 0)
      pid_ = -1;
    posix_spawn_file_actions_destroy(&files);
  }
  ~child() {
    kill(SIGKILL);
  }
  void kill(int sig) {
    if (pid_ > 0) {
      ::kill(pid_, sig);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  bool running() const {
    return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0;
  }

private:
  pid_t pid_ = -1;
};

/// The tiny checkpoint of the tokenizer's vocabulary (384) with that tokenizer beside
/// it, made once for the test process.
inline const std::filesystem::path& tiny_model() {
  static const std::filesystem::path made = [] {
    auto model = std::filesystem::temp_directory_path() / ("expd-tiny-model-" + std::to_string(::getpid()));
    auto run = [](const std::string& command) {
      auto r = expd::test::run_command(command + " 2>&1");
      if (r.status != 0)
        throw std::runtime_error(command + " failed: " + r.out);
    };
    run(std::string{EXPD_TORCH_PYTHON} + " " + EXPD_SOURCE_DIR + "/tests/gpu/make_tiny_checkpoint.py sized "
        + model.string() + " 384");
    run(std::string{EXPD_SOURCE_DIR} + "/tools/tiny-tokenizer.sh --vocab 384 --corpus-bin "
        + EXPD_CORPUS_BINARY + " " + model.string());
    return model;
  }();
  return made;
}

} // namespace expd::testing
