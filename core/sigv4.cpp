#include "core/sigv4.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/percent_encoding.hpp"

namespace expd::core {

namespace {

std::string lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trims the value and collapses each inner run of spaces to one, as SigV4 asks.
std::string header_value(std::string_view value) {
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space)
      out += ' ';
    space = false;
    out += c;
  }
  return out;
}

} // namespace

std::string sigv4_scope::str() const {
  return amz_date.substr(0, 8) + "/" + region + "/" + service + "/aws4_request";
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("OpenSSL SHA-256 failed");
  return hex_encode({reinterpret_cast<const char*>(digest), length});
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length)
      == nullptr)
    throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
  return {reinterpret_cast<const char*>(digest), length};
}

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (auto& [name, value] : query)
    encoded.emplace_back(uri_encode(name, false), uri_encode(value, false));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (auto& [name, value] : encoded) {
    if (!out.empty())
      out += '&';
    out += name + "=" + value;
  }
  return out;
}

std::string amz_date(std::chrono::system_clock::time_point when) {
  auto seconds = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[17];
  std::strftime(text, sizeof(text), "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  auto key = hmac_sha256("AWS4" + std::string{secret}, date);
  key = hmac_sha256(key, region);
  key = hmac_sha256(key, service);
  return hmac_sha256(key, "aws4_request");
}

sigv4_signature sign(const sigv4_request& request, const sigv4_credentials& credentials,
                     const sigv4_scope& scope) {
  // Sorted by lower-case name; repeated headers keep their order, joined by ','.
  std::map<std::string, std::string> headers;
  for (auto& [name, value] : request.headers) {
    auto [it, fresh] = headers.try_emplace(lower(name), header_value(value));
    if (!fresh)
      it->second += "," + header_value(value);
  }
  sigv4_signature out;
  std::string canonical_headers;
  for (auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    if (!out.signed_headers.empty())
      out.signed_headers += ';';
    out.signed_headers += name;
  }
  out.canonical_request = request.method + "\n" + request.path + "\n"
                          + canonical_query(request.query) + "\n" + canonical_headers + "\n"
                          + out.signed_headers + "\n" + request.payload_hash;
  out.string_to_sign = "AWS4-HMAC-SHA256\n" + scope.amz_date + "\n" + scope.str() + "\n"
                       + sha256_hex(out.canonical_request);
  auto key = signing_key(credentials.secret_access_key, scope.amz_date.substr(0, 8), scope.region,
                         scope.service);
  out.signature = hex_encode(hmac_sha256(key, out.string_to_sign));
  out.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope.str()
                      + ", SignedHeaders=" + out.signed_headers + ", Signature=" + out.signature;
  return out;
}

} // namespace expd::core
