#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace expd::core {

/// AWS Signature Version 4, header form: what an S3-compatible server checks before it
/// accepts a request. Pure functions of their inputs, so the tests can hold them to
/// AWS's published vectors.

/// The payload hash that tells the server the body is not part of the signature.
inline constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";

struct sigv4_credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token; ///< empty unless the keys are temporary (STS)
};

/// Who signs for which region and service, and when.
struct sigv4_scope {
  std::string amz_date; ///< "20150830T123600Z", also sent as X-Amz-Date
  std::string region;   ///< "us-east-1"
  std::string service;  ///< "s3"

  /// "20150830/us-east-1/s3/aws4_request"
  std::string str() const;
};

/// One request as the signer sees it.
struct sigv4_request {
  std::string method; ///< "GET"
  /// The path exactly as sent, already percent-encoded ("/bucket/a%20b"). S3 signs it as
  /// it is; other services want it encoded a second time, which is the caller's part.
  std::string path;
  /// Decoded name/value pairs; encoded and sorted here, in the order SigV4 wants.
  std::vector<std::pair<std::string, std::string>> query;
  /// Every header to sign, host and x-amz-date included; names in any case.
  std::vector<std::pair<std::string, std::string>> headers;
  /// sha256_hex(body), or unsigned_payload.
  std::string payload_hash;
};

/// Every step of a signature, for the Authorization header and for tests and logs.
struct sigv4_signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers; ///< "host;x-amz-date"
  std::string signature;      ///< lower-case hex
  std::string authorization;  ///< the Authorization header's value
};

/// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

/// HMAC-SHA256 of `data` under `key`, as 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// "Param1=value1&Param2=value2": each name and value uri_encode'd, sorted by name, then by
/// value. Also the query string to send, so what is signed is what goes on the wire.
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);

/// The UTC time as X-Amz-Date writes it: "20150830T123600Z".
std::string amz_date(std::chrono::system_clock::time_point when);

/// The key derived from the secret for one day, region and service (32 raw bytes).
std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);

/// Signs `request`. Header values are trimmed and inner runs of spaces collapsed;
/// headers sent more than once are joined with ',' in the order given.
sigv4_signature sign(const sigv4_request& request, const sigv4_credentials& credentials,
                     const sigv4_scope& scope);

} // namespace expd::core
