#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "messages/actors.hpp"

namespace expd::cluster {

/// The version of what nodes say to each other (messages/, the ring, sql/009): nodes
/// of one cluster speak one; a node of another is refused at join.
constexpr std::int32_t protocol = 1;

/// How nodes reach each other: TLS with certificates both ways (caf::openssl, a node
/// without a certificate of the cluster's CA is refused in the handshake), or plain
/// TCP, which the node allows on loopback only (--cluster-plain).
enum class link_security { tls, plain };

/// host:port split; throws std::invalid_argument naming `flag` when it does not parse.
std::pair<std::string, std::uint16_t> split_address(const std::string& address,
                                                    const std::string& flag);

/// Checks before anything starts what CAF would otherwise find only at the first
/// handshake, on its I/O thread: the files are PEM, the key has no passphrase and
/// matches the certificate, and the certificate is signed by the CA. Throws
/// std::invalid_argument naming the flag and what to do.
void check_certificates(const std::string& cert, const std::string& key, const std::string& ca);

/// The text of an error made here (its message), or CAF's rendering of any other.
std::string error_text(caf::actor_system& sys, const caf::error& err);

/// When a link whose peer is refused is dropped: at once, or after `refusal_grace`, so
/// that the refusal (the answer to its hello) reaches it first. Not at the peer's next
/// read: a message of the peer's own (a proxy announcement) may come before the refusal
/// is written, and dropping then lost the refusal. An honest peer stops on the refusal;
/// another's connection is shut down at its first read or write after the grace.
enum class peer_drop { now, after_reply };
inline constexpr std::chrono::milliseconds refusal_grace{1000};

/// Whether the peer at host:port (the remote end of its connection, as the middleman's
/// get_atom answers for a node) presented a TLS certificate that names `claimed`: its
/// CN or a DNS subjectAltName. If not, the error says so (its text names both) and the
/// connection is dropped as `drop` says. Without TLS links every name passes.
caf::error check_peer_name(const std::string& host, std::uint16_t port, const std::string& claimed,
                           peer_drop drop);

/// Publishes the node's entry on `address` (host:port) for the other nodes.
caf::expected<std::uint16_t> publish_entry(caf::actor_system& sys, const node_entry_actor& entry,
                                           const std::string& address, link_security security);

/// What connect_node found at an address.
struct linked_node {
  node_entry_actor entry;
  node_hello hello;
};

/// Links to the entry at `address`, hands it `own_entry` (null: only asking) and asks
/// who it is (within `timeout`). A node of
/// another cluster (another database), of another protocol, one whose certificate does
/// not name it (check_peer_name), one that refuses this node's name, or one that cannot
/// be reached or refuses the handshake is an error whose text says which and what to do.
/// Blocking: from a detached actor or at start-up only.
caf::expected<linked_node> connect_node(caf::actor_system& sys, const std::string& address,
                                        link_security security, const node_hello& self,
                                        const caf::actor& own_entry,
                                        std::chrono::milliseconds timeout);

} // namespace expd::cluster
