#include "cluster/node_link.hpp"

#include <stdexcept>

#include <caf/io/middleman.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <caf/scoped_actor.hpp>

namespace expd::cluster {

std::pair<std::string, std::uint16_t> split_address(const std::string& address,
                                                    const std::string& flag) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
    throw std::invalid_argument(flag + " must be host:port, not '" + address + "'");
  std::size_t used = 0;
  unsigned long port = 0;
  try {
    port = std::stoul(address.substr(colon + 1), &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != address.size() - colon - 1 || port == 0 || port > 65535)
    throw std::invalid_argument(flag + " has no valid port: '" + address + "'");
  return {address.substr(0, colon), static_cast<std::uint16_t>(port)};
}

caf::expected<std::uint16_t> publish_entry(caf::actor_system& sys, const node_entry_actor& entry,
                                           const std::string& address, link_security security) {
  auto [host, port] = split_address(address, "--cluster-listen");
  if (security == link_security::tls)
    return caf::openssl::publish(entry, port, host.c_str(), true);
  return sys.middleman().publish(entry, port, host.c_str(), true);
}

caf::expected<linked_node> connect_node(caf::actor_system& sys, const std::string& address,
                                        link_security security, const node_hello& self,
                                        std::chrono::milliseconds timeout) {
  auto [host, port] = split_address(address, "the node address");
  auto entry = security == link_security::tls
                 ? caf::openssl::remote_actor<node_entry_actor>(sys, host, port)
                 : sys.middleman().remote_actor<node_entry_actor>(host, port);
  if (!entry)
    return caf::make_error(caf::sec::cannot_connect_to_node,
                           "cannot link to the node at " + address + " ("
                             + sys.render(entry.error())
                             + (security == link_security::tls
                                  ? "): is it up, does it listen there (--cluster-listen), and "
                                    "do both nodes hold certificates of the same cluster CA?"
                                  : "): is it up and does it listen there (--cluster-listen)?"));
  caf::scoped_actor self_actor{sys};
  caf::expected<linked_node> result{caf::sec::request_timeout};
  self_actor->request(*entry, timeout, atom::hello::value)
    .receive(
      [&](node_hello& hello) {
        if (hello.cluster_id != self.cluster_id)
          result = caf::make_error(caf::sec::incompatible_versions,
                                   "the node at " + address + " (" + hello.name
                                     + ") belongs to another cluster (another PostgreSQL "
                                       "database): check --join and --pg");
        else if (hello.protocol != self.protocol)
          result = caf::make_error(caf::sec::incompatible_versions,
                                   "the node at " + address + " speaks cluster protocol "
                                     + std::to_string(hello.protocol) + ", this build speaks "
                                     + std::to_string(self.protocol));
        else
          result = linked_node{*entry, std::move(hello)};
      },
      [&](caf::error& err) {
        result = caf::make_error(caf::sec::cannot_connect_to_node,
                                 "the node at " + address + " did not say who it is ("
                                   + sys.render(err) + ")");
      });
  return result;
}

} // namespace expd::cluster
