#include "network_namespace.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include "../integration/expd_process.hpp"

namespace expd::testing {

namespace {

constexpr const char* namespace_prefix = "expd-part-";
constexpr const char* link_prefix = "expdp"; // expdp<pid>k<pair>: 15 characters at most

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

// The full path of `ip` (posix_spawn takes no search path), or "" without iproute2.
std::string ip_binary() {
  return trimmed(run_command("command -v ip").out);
}

void must(const std::string& command) {
  auto out = run_command(command + " 2>&1");
  if (out.status != 0)
    throw std::runtime_error("`" + command + "` failed: " + trimmed(out.out));
}

// The pid a name made by this class carries after `prefix`, or 0.
int pid_in(const std::string& name, const std::string& prefix) {
  if (name.rfind(prefix, 0) != 0)
    return 0;
  return std::atoi(name.c_str() + prefix.size());
}

bool alive(int pid) {
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

// A run that died (SIGKILL, a crash) left its namespace and host-side links behind;
// those of a run still going are its own.
void remove_leftovers(const std::string& ip) {
  std::istringstream spaces{run_command(ip + " netns list 2>/dev/null").out};
  for (std::string line; std::getline(spaces, line);) {
    auto name = line.substr(0, line.find(' '));
    if (auto pid = pid_in(name, namespace_prefix); pid > 0 && !alive(pid))
      run_command(ip + " netns delete " + name + " 2>/dev/null");
  }
  std::istringstream links{run_command(ip + " -o link show 2>/dev/null").out};
  for (std::string line; std::getline(links, line);) {
    auto from = line.find(": ");
    if (from == std::string::npos)
      continue;
    auto name = line.substr(from + 2, line.find_first_of("@:", from + 2) - from - 2);
    if (auto pid = pid_in(name, link_prefix); pid > 0 && !alive(pid))
      run_command(ip + " link delete " + name + " 2>/dev/null");
  }
}

// A 10.201.X.0/24 no address of this host is in; runs side by side differ by pid.
int free_subnet(const std::string& ip) {
  auto used = run_command(ip + " -o -4 addr show 2>/dev/null").out;
  for (int i = 0; i < 234; ++i) {
    int x = 16 + (getpid() + i) % 234;
    if (used.find("10.201." + std::to_string(x) + ".") == std::string::npos)
      return x;
  }
  throw std::runtime_error("every 10.201.X.0/24 with X in 16..249 is in use here");
}

} // namespace

network_namespace::network_namespace(std::vector<std::string> roles)
  : roles_(std::move(roles)), name_(namespace_prefix + std::to_string(getpid())) {
  ip_ = ip_binary();
  if (ip_.empty())
    throw std::runtime_error("no `ip` command (iproute2) on PATH");
  remove_leftovers(ip_);
  subnet_ = free_subnet(ip_);
  try {
    must(ip_ + " netns add " + name_);
    must(ip_ + " -n " + name_ + " link set lo up");
    for (std::size_t k = 0; k < roles_.size(); ++k) {
      auto& role = roles_[k];
      must(ip_ + " link add " + host_link(k) + " type veth peer name " + role + " netns " + name_);
      must(ip_ + " addr add " + host_address(role) + "/30 dev " + host_link(k));
      must(ip_ + " link set " + host_link(k) + " up");
      must(ip_ + " -n " + name_ + " addr add " + inside_address(role) + "/30 dev " + role);
      must(ip_ + " -n " + name_ + " link set " + role + " up");
    }
    // Also needs a mount namespace of its own for /sys, which some containers refuse.
    must(ip_ + " netns exec " + name_ + " true");
  } catch (...) {
    remove();
    throw;
  }
}

network_namespace::~network_namespace() {
  remove();
}

void network_namespace::remove() const {
  for (std::size_t k = 0; k < roles_.size(); ++k)
    run_command(ip_ + " link delete " + host_link(k) + " 2>/dev/null");
  run_command(ip_ + " netns delete " + name_ + " 2>/dev/null");
}

std::vector<std::string> network_namespace::exec_prefix() const {
  return {ip_, "netns", "exec", name_};
}

std::size_t network_namespace::index_of(const std::string& role) const {
  for (std::size_t k = 0; k < roles_.size(); ++k)
    if (roles_[k] == role)
      return k;
  throw std::invalid_argument("network_namespace: no pair " + role);
}

std::string network_namespace::host_link(std::size_t k) const {
  return link_prefix + std::to_string(getpid()) + "k" + std::to_string(k);
}

std::string network_namespace::host_address(const std::string& role) const {
  return "10.201." + std::to_string(subnet_) + "." + std::to_string(4 * index_of(role) + 1);
}

std::string network_namespace::inside_address(const std::string& role) const {
  return "10.201." + std::to_string(subnet_) + "." + std::to_string(4 * index_of(role) + 2);
}

void network_namespace::set_link(const std::string& role, bool up) const {
  must(ip_ + " -n " + name_ + " link set " + role + (up ? " up" : " down"));
}

} // namespace expd::testing
