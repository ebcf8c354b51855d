#include "runtime/s3_object_store.hpp"

#include <algorithm>
#include <cstdlib>

#include "core/percent_encoding.hpp"
#include "runtime/s3_xml.hpp"

namespace expd::runtime {

namespace {

// Bucket names as S3 allows them for path-style requests: 3-63 of a-z 0-9 . -,
// starting and ending with a letter or digit.
bool valid_bucket(const std::string& name) {
  if (name.size() < 3 || name.size() > 63)
    return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back()))
    return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '-'; });
}

std::string env(const char* name) {
  auto* value = std::getenv(name);
  return value != nullptr ? value : "";
}

} // namespace

s3_config s3_config_from_url(const std::string& url) {
  auto fail = [&](const std::string& why) {
    throw object_store_error("object store URL '" + url + "': " + why);
  };
  s3_config config;
  auto query_at = url.find('?');
  config.bucket = url.substr(5, query_at == std::string::npos ? std::string::npos : query_at - 5);
  if (config.bucket.find('/') != std::string::npos)
    fail("an s3 URL names a bucket, not a path: s3://bucket?endpoint=...&region=...");
  if (!valid_bucket(config.bucket))
    fail("'" + config.bucket + "' is not a bucket name (3-63 of a-z 0-9 . -)");
  std::string endpoint;
  if (query_at != std::string::npos) {
    std::string_view query{url};
    query.remove_prefix(query_at + 1);
    while (!query.empty()) {
      auto pair = query.substr(0, query.find('&'));
      query.remove_prefix(std::min(query.size(), pair.size() + 1));
      auto eq = pair.find('=');
      auto name = pair.substr(0, eq);
      auto value = core::uri_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
      if (!value || value->empty())
        fail("parameter '" + std::string{name} + "' needs a value");
      if (name == "endpoint")
        endpoint = *value;
      else if (name == "region")
        config.region = *value;
      else
        fail("unknown parameter '" + std::string{name} + "' (known: endpoint, region)");
    }
  }
  if (endpoint.empty())
    endpoint = "https://s3." + config.region + ".amazonaws.com";
  while (!endpoint.empty() && endpoint.back() == '/')
    endpoint.pop_back();
  auto scheme_end = endpoint.find("://");
  auto scheme = endpoint.substr(0, scheme_end);
  if (scheme_end == std::string::npos || (scheme != "http" && scheme != "https")
      || endpoint.size() == scheme_end + 3
      || endpoint.find_first_of("/?#@", scheme_end + 3) != std::string::npos)
    fail("endpoint '" + endpoint + "' is not http(s)://host[:port]");
  config.endpoint = endpoint;
  config.credentials.access_key_id = env("AWS_ACCESS_KEY_ID");
  config.credentials.secret_access_key = env("AWS_SECRET_ACCESS_KEY");
  config.credentials.session_token = env("AWS_SESSION_TOKEN");
  if (config.credentials.access_key_id.empty() || config.credentials.secret_access_key.empty())
    fail("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set "
         "(for the local test server: source var/env.sh)");
  return config;
}

s3_object_store::s3_object_store(s3_config config)
  : config_(std::move(config)), host_(config_.endpoint.substr(config_.endpoint.find("://") + 3)) {
}

s3_object_store::~s3_object_store() = default;

s3_object_store::reply
s3_object_store::send(const std::string& method, const std::string& key,
                      const std::vector<std::pair<std::string, std::string>>& query,
                      std::string_view body, const std::string& what) {
  // Path-style: the bucket is the first segment; the key is encoded once, '/' kept.
  core::sigv4_request request{method,
                              "/" + config_.bucket
                                + (key.empty() ? "" : "/" + core::uri_encode(key, true)),
                              query,
                              {},
                              core::sha256_hex(body)};
  auto query_string = core::canonical_query(query);
  auto url = config_.endpoint + request.path + (query_string.empty() ? "" : "?" + query_string);
  std::string last_error;
  for (int attempt = 1; attempt <= config_.attempts; ++attempt) {
    if (attempt > 1)
      curl_.wait_before_try(attempt, config_.backoff);
    core::sigv4_scope scope{core::amz_date(std::chrono::system_clock::now()), config_.region, "s3"};
    request.headers = {{"Host", host_},
                       {"X-Amz-Content-SHA256", request.payload_hash},
                       {"X-Amz-Date", scope.amz_date}};
    if (!config_.credentials.session_token.empty())
      request.headers.emplace_back("X-Amz-Security-Token", config_.credentials.session_token);
    auto signature = core::sign(request, config_.credentials, scope);

    curl_request http{method, url, {}, std::nullopt, config_.connect_timeout, config_.timeout,
                      // The path is signed as it is: curl must not fold "/./" or "/../" in it.
                      true};
    for (auto& [name, value] : request.headers)
      http.headers.push_back(name + ": " + value);
    http.headers.push_back("Authorization: " + signature.authorization);
    if (method == "PUT") {
      http.headers.emplace_back("Content-Type: application/octet-stream");
      http.body = body;
    }
    auto answer = curl_.perform(http, last_error);
    if (!answer)
      continue;
    reply r{answer->status, std::move(answer->body)};
    if (r.status < 500 && r.status != 429)
      return r;
    auto s3 = parse_s3_error(r.body);
    last_error = "HTTP " + std::to_string(r.status) + (s3.code.empty() ? "" : " " + s3.code);
  }
  throw object_store_error(describe() + ": " + what + " failed after "
                           + std::to_string(config_.attempts) + " attempts: " + last_error);
}

void s3_object_store::fail(const std::string& what, const reply& r) const {
  auto s3 = parse_s3_error(r.body);
  auto detail = s3.code.empty() ? std::string{"no S3 error body"} : s3.code + ": " + s3.message;
  throw object_store_error(describe() + ": " + what + ": HTTP " + std::to_string(r.status) + " "
                           + detail);
}

void s3_object_store::put(const std::string& key, std::string_view body) {
  check_object_key(key);
  auto what = "PUT " + key;
  auto r = send("PUT", key, {}, body, what);
  if (r.status != 200)
    fail(what, r);
}

std::optional<std::string> s3_object_store::get(const std::string& key) {
  check_object_key(key);
  auto what = "GET " + key;
  auto r = send("GET", key, {}, {}, what);
  if (r.status == 200)
    return std::move(r.body);
  // A missing bucket is a configuration error, not an absent object.
  if (r.status == 404 && parse_s3_error(r.body).code != "NoSuchBucket")
    return std::nullopt;
  fail(what, r);
}

std::vector<std::string> s3_object_store::list(const std::string& prefix) {
  std::vector<std::string> keys;
  std::string token;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> query{
      {"list-type", "2"}, {"max-keys", std::to_string(config_.max_keys)}, {"prefix", prefix}};
    if (!token.empty())
      query.emplace_back("continuation-token", token);
    auto what = "LIST " + prefix;
    auto r = send("GET", "", query, {}, what);
    if (r.status != 200)
      fail(what, r);
    auto page = parse_list_objects(r.body);
    std::move(page.keys.begin(), page.keys.end(), std::back_inserter(keys));
    if (!page.truncated)
      break;
    if (page.next_continuation_token.empty() || page.next_continuation_token == token)
      throw object_store_error(describe() + ": " + what
                               + ": S3 said more keys follow but gave no new continuation token");
    token = std::move(page.next_continuation_token);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

void s3_object_store::remove(const std::string& key) {
  check_object_key(key);
  auto what = "DELETE " + key;
  auto r = send("DELETE", key, {}, {}, what);
  if (r.status == 200 || r.status == 204)
    return;
  if (r.status == 404 && parse_s3_error(r.body).code == "NoSuchKey")
    return;
  fail(what, r);
}

std::string s3_object_store::describe() const {
  return "s3://" + config_.bucket + " (" + config_.endpoint + ")";
}

} // namespace expd::runtime
