#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace expd::testing {

/// A network namespace expd-part-<pid>, joined to this one by one veth pair per role
/// (its inside end is named after the role), for a node that can be cut off:
/// 10.201.X.(4k+1) on this side of pair k, 10.201.X.(4k+2) inside. Made by `ip` in the
/// constructor, which throws std::runtime_error with the command that failed and what
/// it said (not root, no `ip`, no namespaces in this container); removed at the end.
/// Leftovers of an earlier run that died are removed first.
class network_namespace {
public:
  explicit network_namespace(std::vector<std::string> roles);
  ~network_namespace();
  network_namespace(const network_namespace&) = delete;
  network_namespace& operator=(const network_namespace&) = delete;

  const std::string& name() const noexcept {
    return name_;
  }
  /// Runs a command inside: put it before the command's argv.
  std::vector<std::string> exec_prefix() const;
  /// The address of pair `role`'s end on this side and inside.
  std::string host_address(const std::string& role) const;
  std::string inside_address(const std::string& role) const;
  /// Takes pair `role`'s inside end down (nothing passes either way) or up again.
  void set_link(const std::string& role, bool up) const;

private:
  std::size_t index_of(const std::string& role) const;
  std::string host_link(std::size_t k) const;
  void remove() const;

  std::vector<std::string> roles_;
  std::string name_;
  std::string ip_; ///< the path of `ip`
  int subnet_ = 0; ///< X of 10.201.X.0/24
};

} // namespace expd::testing
