#include "cluster/node_link.hpp"

#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <caf/io/middleman.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <caf/scoped_actor.hpp>

// CAF 0.17's TLS sessions call SSL_get_error without clearing the thread's error queue
// first, which OpenSSL requires: after one node's refused handshake, the next
// would-block read on a healthy link on the same I/O thread reads as an error and CAF
// closes that link. These definitions interpose libssl's for libcaf_openssl and clear
// the queue before each call (seen: without them a refused join dropped the
// cluster's links and failed remote assignments for a second).
namespace {

template <class F>
F real(const char* name) {
  static_assert(sizeof(F) == sizeof(void*));
  F f;
  auto* sym = dlsym(RTLD_NEXT, name);
  std::memcpy(&f, &sym, sizeof(f));
  return f;
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto next = real<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto next = real<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_connect(SSL* ssl) {
  static auto next = real<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return next(ssl);
}

int SSL_accept(SSL* ssl) {
  static auto next = real<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return next(ssl);
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

caf::expected<std::uint16_t> publish_entry(caf::actor_system& sys, const node_entry_actor& entry,
                                           const std::string& address, link_security security) {
  auto [host, port] = split_address(address, "--cluster-listen");
  if (security == link_security::tls)
    return caf::openssl::publish(entry, port, host.c_str(), true);
  return sys.middleman().publish(entry, port, host.c_str(), true);
}

caf::expected<linked_node> connect_node(caf::actor_system& sys, const std::string& address,
                                        link_security security, const node_hello& self,
                                        const caf::actor& own_entry,
                                        std::chrono::milliseconds timeout) {
  auto [host, port] = split_address(address, "the node address");
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
        result = caf::make_error(caf::sec::cannot_connect_to_node,
                                 "the node at " + address + " did not say who it is ("
                                   + sys.render(err) + ")");
      });
  return result;
}

} // namespace expd::cluster
