#include "runtime/curl_session.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <thread>

#include <curl/curl.h>

namespace expd::runtime {

namespace {

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

} // namespace

curl_session::curl_session() : curl_(curl_easy_init()), jitter_(std::random_device{}()) {
  if (curl_ == nullptr)
    throw std::runtime_error("curl_easy_init failed");
}

curl_session::~curl_session() {
  curl_easy_cleanup(curl_);
}

std::optional<curl_reply> curl_session::perform(const curl_request& request, std::string& error) {
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, curl_slist_free_all);
  for (auto& line : request.headers)
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  // No "100 Continue" round trip before a body.
  headers.reset(curl_slist_append(headers.release(), "Expect:"));

  curl_reply r;
  char reason[CURL_ERROR_SIZE] = "";
  CURL* h = curl_;
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (request.path_as_is)
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
  if (request.method == "GET")
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  else
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.body) {
    // Never a null pointer: curl would read the body from stdin instead.
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body->empty() ? "" : request.body->data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body->size()));
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, "expd");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, reason);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  if (CURLcode rc = curl_easy_perform(h); rc != CURLE_OK) {
    error = reason[0] != '\0' ? reason : curl_easy_strerror(rc);
    return std::nullopt;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

void curl_session::wait_before_try(int attempt, std::chrono::milliseconds backoff) {
  auto full = backoff * (1 << std::clamp(attempt - 2, 0, 10));
  std::uniform_int_distribution<long> pick(full.count() / 2, full.count());
  std::this_thread::sleep_for(std::chrono::milliseconds{pick(jitter_)});
}

} // namespace expd::runtime
