#include "runtime/tokenizer_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace expd::runtime {

namespace {

void write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    auto n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw tokenizer_process_error("the tokenizer process is gone (write failed)");
    done += static_cast<std::size_t>(n);
  }
}

} // namespace

std::string default_tokenize_binary() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "expd-tokenize").string();
}

tokenizer_process::tokenizer_process(const std::string& binary, const std::string& folder) : folder_(folder) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0)
    throw tokenizer_process_error("cannot make a pipe for " + binary);
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    throw tokenizer_process_error("cannot make a pipe for " + binary);
  }
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_adddup2(&files, in[0], 0);
  posix_spawn_file_actions_adddup2(&files, out[1], 1);
  std::vector<std::string> args = {binary, "--serve", "--tokenizer", folder};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = ::posix_spawn(&pid_, binary.c_str(), &files, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  ::close(in[0]);
  ::close(out[1]);
  to_ = in[1];
  from_ = out[0];
  if (rc != 0) {
    pid_ = -1;
    throw tokenizer_process_error("cannot run " + binary + ": " + std::strerror(rc));
  }
  std::string ready;
  try {
    ready = ask("");
  } catch (const tokenizer_process_error&) {
    throw tokenizer_process_error(folder + ": expd-tokenize could not load the tokenizer (its message is in the "
                                           "node's stderr)");
  }
  auto j = nlohmann::json::parse(ready, nullptr, false);
  if (!j.is_object() || !j.value("ready", false))
    throw tokenizer_process_error(folder + ": expd-tokenize answered " + ready);
  if (j["eos"].is_number_integer())
    eos_ = j["eos"].get<std::int32_t>();
}

tokenizer_process::~tokenizer_process() {
  if (to_ >= 0)
    ::close(to_); // end of input: it exits
  if (from_ >= 0)
    ::close(from_);
  if (pid_ > 0) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, &status, 0);
    }
  }
}

// Sends `line` (none: reads the greeting) and reads one line back.
std::string tokenizer_process::ask(const std::string& line) {
  if (!line.empty())
    write_all(to_, line + "\n");
  for (;;) {
    auto end = buffer_.find('\n');
    if (end != std::string::npos) {
      auto answer = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      return answer;
    }
    char chunk[65536];
    auto n = ::read(from_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw tokenizer_process_error("the tokenizer process of " + folder_ + " ended");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::vector<std::int32_t> tokenizer_process::prompt(const std::string& text) {
  auto j = nlohmann::json::parse(ask(nlohmann::json{{"prompt", text}}.dump(-1, ' ', false,
                                                                             nlohmann::json::error_handler_t::replace)),
                                 nullptr, false);
  if (!j.is_object() || !j.contains("ids"))
    throw tokenizer_process_error(folder_ + ": " + (j.is_object() ? j.value("error", j.dump()) : "no answer"));
  return j["ids"].get<std::vector<std::int32_t>>();
}

std::string tokenizer_process::decode(const std::vector<std::int32_t>& ids) {
  auto j = nlohmann::json::parse(ask(nlohmann::json{{"decode", ids}}.dump()), nullptr, false);
  if (!j.is_object() || !j.contains("text"))
    throw tokenizer_process_error(folder_ + ": " + (j.is_object() ? j.value("error", j.dump()) : "no answer"));
  return j["text"].get<std::string>();
}

} // namespace expd::runtime
