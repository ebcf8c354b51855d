#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/types.h>

// A checkpoint's tokenizer for the node, in an `expd-tokenize --serve` process of its
// own: Debian's libsentencepiece carries its own protobuf and cannot share a process
// with libprotobuf (the node's) or libtorch (docs/gpu.md, "Tokenizer"). One JSON line
// each way over a pipe; blocking, so for detached actors and jobs only.
namespace expd::runtime {

/// The process would not start, died, or refused the tokenizer or a request.
class tokenizer_process_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class tokenizer_process {
public:
  /// Starts `binary` --serve --tokenizer `folder` and waits for it to be ready. Throws
  /// tokenizer_process_error with what the process said (a missing or bad tokenizer).
  tokenizer_process(const std::string& binary, const std::string& folder);
  ~tokenizer_process();
  tokenizer_process(const tokenizer_process&) = delete;
  tokenizer_process& operator=(const tokenizer_process&) = delete;

  /// `text` as a prompt: BOS when the tokenizer adds it, then the text, as training
  /// tokenises a row's input.
  std::vector<std::int32_t> prompt(const std::string& text);
  /// The ids as text, special tokens left out.
  std::string decode(const std::vector<std::int32_t>& ids);

  std::optional<std::int32_t> eos() const noexcept {
    return eos_;
  }

private:
  std::string ask(const std::string& line);

  pid_t pid_ = -1;
  int to_ = -1;   // its stdin
  int from_ = -1; // its stdout
  std::string buffer_;
  std::string folder_;
  std::optional<std::int32_t> eos_;
};

/// expd-tokenize beside the running binary.
std::string default_tokenize_binary();

} // namespace expd::runtime
