#pragma once

#include <stdexcept>
#include <string>

namespace expd::gpu {

/// A checkpoint file or folder that cannot be used. The message names the file and,
/// where one is at fault, the tensor; both are kept so callers can report them apart.
class checkpoint_error : public std::runtime_error {
public:
  checkpoint_error(std::string file, std::string tensor, const std::string& why)
    : std::runtime_error(file + (tensor.empty() ? "" : ": tensor \"" + tensor + "\"") + ": "
                         + why),
      file_(std::move(file)), tensor_(std::move(tensor)) {
  }

  const std::string& file() const noexcept {
    return file_;
  }

  /// Empty when the fault is not one tensor's (a truncated file, malformed JSON).
  const std::string& tensor() const noexcept {
    return tensor_;
  }

private:
  std::string file_;
  std::string tensor_;
};

} // namespace expd::gpu
