#include "cluster/node_link.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <caf/io/middleman.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <caf/scoped_actor.hpp>

// CAF 0.17's TLS sessions call SSL_get_error without clearing the thread's error queue
// first, which OpenSSL requires: after one node's refused handshake, the next
// would-block read on a healthy link on the same I/O thread reads as an error and CAF
// closes that link. These definitions interpose libssl's for libcaf_openssl and clear
// the queue before each call (seen: without them a refused join dropped the
// cluster's links and failed remote assignments for a second).
//
// They also note what each finished handshake showed of the peer, since CAF 0.17 keeps
// its SSL objects to itself: the names in the peer's certificate, by the connection's
// remote address, which is what the middleman answers for a node (get_atom). So a node's
// hello can be held against the certificate of the connection it came over
// (check_peer_name). An entry lives as long as its SSL object (SSL_free): CAF frees the
// session before it closes the socket, so a socket in the table is still the peer's.
namespace {

template <class F>
F real(const char* name) {
  static_assert(sizeof(F) == sizeof(void*));
  F f;
  auto* sym = dlsym(RTLD_NEXT, name);
  std::memcpy(&f, &sym, sizeof(f));
  return f;
}

struct tls_peer {
  std::string address; ///< host:port of the connection's remote end, as CAF renders it
  int fd = -1;
  std::vector<std::string> names; ///< the certificate's CN and DNS subjectAltNames
  /// steady_clock nanoseconds from which the connection is shut down (0: never)
  std::atomic<std::int64_t> drop_from{0};
};

std::mutex tls_peers_mutex;
std::map<const SSL*, std::unique_ptr<tls_peer>> tls_peers;
std::atomic<bool> tls_links{false}; ///< set once this node links with TLS

int tls_peer_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

std::vector<std::string> certificate_names(X509* cert) {
  std::vector<std::string> names;
  char cn[256];
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn)) > 0)
    names.emplace_back(cn);
  auto* sans = static_cast<GENERAL_NAMES*>(
    X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    auto* san = sk_GENERAL_NAME_value(sans, i);
    if (san->type == GEN_DNS)
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(san->d.dNSName)),
                         static_cast<std::size_t>(ASN1_STRING_length(san->d.dNSName)));
  }
  GENERAL_NAMES_free(sans);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

// Before every TLS call on a refused peer's connection, once its grace is over: shut it
// down, so that the call finds it closed and CAF drops the link.
void before_tls_call(SSL* ssl) {
  auto* peer = static_cast<tls_peer*>(SSL_get_ex_data(ssl, tls_peer_index()));
  if (peer == nullptr)
    return;
  auto from = peer->drop_from.load();
  if (from != 0 && steady_ns() >= from)
    shutdown(peer->fd, SHUT_RDWR);
}

// After every TLS call: the first time a session's handshake is done, note its peer.
void after_tls_call(SSL* ssl) {
  auto* peer = static_cast<tls_peer*>(SSL_get_ex_data(ssl, tls_peer_index()));
  if (peer == nullptr && SSL_is_init_finished(ssl)) {
    auto noted = std::make_unique<tls_peer>();
    noted->fd = SSL_get_fd(ssl);
    auto host = caf::io::network::remote_addr_of_fd(noted->fd);
    auto port = caf::io::network::remote_port_of_fd(noted->fd);
    if (host && port)
      noted->address = *host + ":" + std::to_string(*port);
    if (X509* cert = SSL_get_peer_certificate(ssl)) {
      noted->names = certificate_names(cert);
      X509_free(cert);
    }
    peer = noted.get();
    SSL_set_ex_data(ssl, tls_peer_index(), peer);
    std::lock_guard<std::mutex> lock{tls_peers_mutex};
    tls_peers[ssl] = std::move(noted);
  }
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto next = real<int (*)(SSL*, void*, int)>("SSL_read");
  before_tls_call(ssl);
  ERR_clear_error();
  auto n = next(ssl, buf, num);
  after_tls_call(ssl);
  return n;
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto next = real<int (*)(SSL*, const void*, int)>("SSL_write");
  before_tls_call(ssl);
  ERR_clear_error();
  auto n = next(ssl, buf, num);
  after_tls_call(ssl);
  return n;
}

int SSL_connect(SSL* ssl) {
  static auto next = real<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  auto n = next(ssl);
  after_tls_call(ssl);
  return n;
}

int SSL_accept(SSL* ssl) {
  static auto next = real<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  auto n = next(ssl);
  after_tls_call(ssl);
  return n;
}

void SSL_free(SSL* ssl) {
  static auto next = real<void (*)(SSL*)>("SSL_free");
  if (ssl != nullptr && SSL_get_ex_data(ssl, tls_peer_index()) != nullptr) {
    std::lock_guard<std::mutex> lock{tls_peers_mutex};
    tls_peers.erase(ssl);
  }
  next(ssl);
}

} // extern "C"

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

namespace {

std::string openssl_reason() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "not PEM";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

using file_ptr = std::unique_ptr<FILE, int (*)(FILE*)>;

file_ptr open_pem(const std::string& path, const std::string& flag) {
  file_ptr f{std::fopen(path.c_str(), "r"), &std::fclose};
  if (!f)
    throw std::invalid_argument(flag + " " + path + " cannot be read");
  return f;
}

// An encrypted key would make OpenSSL ask for a passphrase on the terminal.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

} // namespace

void check_certificates(const std::string& cert, const std::string& key, const std::string& ca) {
  std::unique_ptr<X509, void (*)(X509*)> own{
    PEM_read_X509(open_pem(cert, "--cluster-cert").get(), nullptr, nullptr, nullptr), &X509_free};
  if (!own)
    throw std::invalid_argument("--cluster-cert " + cert + " is not a PEM certificate ("
                                + openssl_reason() + ")");
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> pkey{
    PEM_read_PrivateKey(open_pem(key, "--cluster-key").get(), nullptr, no_passphrase, nullptr),
    &EVP_PKEY_free};
  if (!pkey)
    throw std::invalid_argument("--cluster-key " + key + " is not a PEM key without passphrase ("
                                + openssl_reason() + "); deploy/cluster-certs.sh makes such keys");
  if (X509_check_private_key(own.get(), pkey.get()) != 1)
    throw std::invalid_argument("--cluster-key " + key + " is not the key of --cluster-cert " + cert);
  std::unique_ptr<X509_STORE, void (*)(X509_STORE*)> store{X509_STORE_new(), &X509_STORE_free};
  if (X509_STORE_load_file(store.get(), ca.c_str()) != 1)
    throw std::invalid_argument("--cluster-ca " + ca + " holds no readable PEM certificate ("
                                + openssl_reason() + ")");
  std::unique_ptr<X509_STORE_CTX, void (*)(X509_STORE_CTX*)> ctx{X509_STORE_CTX_new(),
                                                                  &X509_STORE_CTX_free};
  X509_STORE_CTX_init(ctx.get(), store.get(), own.get(), nullptr);
  if (X509_verify_cert(ctx.get()) != 1)
    throw std::invalid_argument(
      "--cluster-cert " + cert + " is not signed by the cluster CA in --cluster-ca " + ca + " ("
      + X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()))
      + "): give this node a certificate of the cluster's CA (deploy/cluster-certs.sh NAME)");
}

std::string error_text(caf::actor_system& sys, const caf::error& err) {
  if (err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return sys.render(err);
}

caf::error check_peer_name(const std::string& host, std::uint16_t port, const std::string& claimed,
                           peer_drop drop) {
  if (!tls_links)
    return {};
  auto address = host + ":" + std::to_string(port);
  std::lock_guard<std::mutex> lock{tls_peers_mutex};
  auto it = std::find_if(tls_peers.begin(), tls_peers.end(),
                         [&](auto& p) { return p.second->address == address; });
  if (it != tls_peers.end()) {
    auto& names = it->second->names;
    if (std::find(names.begin(), names.end(), claimed) != names.end())
      return {};
    if (drop == peer_drop::now)
      shutdown(it->second->fd, SHUT_RDWR);
    else
      it->second->drop_from = steady_ns() + std::chrono::nanoseconds{refusal_grace}.count();
  }
  std::string listed;
  for (auto& name : it == tls_peers.end() ? std::vector<std::string>{} : it->second->names)
    listed += (listed.empty() ? "" : ", ") + name;
  return caf::make_error(caf::sec::invalid_argument,
                         "node " + claimed + " (at " + address + ") shows a TLS certificate that "
                           + (listed.empty() ? "names no node" : "names " + listed + ", not " + claimed)
                           + ": a node's certificate must name it (CN or DNS subjectAltName); give "
                           + claimed + " its own (deploy/cluster-certs.sh " + claimed
                           + ") or start it with the --node-name its certificate names");
}

caf::expected<std::uint16_t> publish_entry(caf::actor_system& sys, const node_entry_actor& entry,
                                           const std::string& address, link_security security) {
  auto [host, port] = split_address(address, "--cluster-listen");
  tls_links = tls_links || security == link_security::tls;
  if (security == link_security::tls)
    return caf::openssl::publish(entry, port, host.c_str(), true);
  return sys.middleman().publish(entry, port, host.c_str(), true);
}

caf::expected<linked_node> connect_node(caf::actor_system& sys, const std::string& address,
                                        link_security security, const node_hello& self,
                                        const caf::actor& own_entry,
                                        std::chrono::milliseconds timeout) {
  auto [host, port] = split_address(address, "the node address");
  tls_links = tls_links || security == link_security::tls;
  auto entry = security == link_security::tls
                 ? caf::openssl::remote_actor<node_entry_actor>(sys, host, port)
                 : sys.middleman().remote_actor<node_entry_actor>(host, port);
  // A refused TLS handshake reaches CAF as a connection closed during its own handshake.
  if (!entry && security == link_security::tls
      && entry.error() == caf::sec::disconnect_during_handshake)
    return caf::make_error(caf::sec::cannot_connect_to_node,
                           "the node at " + address + " and this node refused each other in the "
                           "TLS handshake: both need certificates signed by the same cluster CA "
                           "(check --cluster-ca and --cluster-cert on both; deploy/cluster-certs.sh), "
                           "or the other node links without TLS (--cluster-plain)");
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
  self_actor->request(*entry, timeout, atom::hello::value, self, own_entry)
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
        // A refusal of the other node's says why (its check_peer_name).
        result = caf::make_error(caf::sec::cannot_connect_to_node,
                                 err.context().match_elements<std::string>()
                                   ? "the node at " + address + " refused the link: "
                                       + error_text(sys, err)
                                   : "the node at " + address + " did not say who it is ("
                                       + sys.render(err) + ")");
      });
  if (!result || security != link_security::tls)
    return result;
  // The name it said is held against the certificate of the connection it came over.
  self_actor->request(sys.middleman().actor_handle(), timeout, caf::get_atom::value, entry->node())
    .receive(
      [&](const caf::node_id&, const std::string& peer_host, std::uint16_t peer_port) {
        if (auto refused = check_peer_name(peer_host, peer_port, result->hello.name, peer_drop::now))
          result = refused;
      },
      [&](caf::error& err) { result = err; });
  return result;
}

} // namespace expd::cluster
