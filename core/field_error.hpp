#pragma once

#include <stdexcept>
#include <string>

namespace expd::core {

/// A client's or operator's input was wrong at one place. `field` is the path of the
/// fault as the client wrote it ("requested_experiments[2]",
/// "experiments[0].condition.$and[1].country.$in"), so the error can name it.
class field_error : public std::runtime_error {
public:
  field_error(std::string field, const std::string& message)
    : std::runtime_error(message), field_(std::move(field)) {
  }

  const std::string& field() const noexcept {
    return field_;
  }

private:
  std::string field_;
};

} // namespace expd::core
