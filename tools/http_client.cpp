#include "tools/http_client.hpp"

#include <cctype>
#include <memory>

#include <curl/curl.h>

#include "tools/cli_errors.hpp"

namespace expd::tools {

namespace {

using nlohmann::json;

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

} // namespace

http_response perform(const std::string& url, const std::optional<std::string>& body,
                      const std::string& token, long timeout_seconds) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    throw std::runtime_error("curl_easy_init failed");
  }
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, curl_slist_free_all);
  auto add_header = [&](const std::string& header) {
    headers.reset(curl_slist_append(headers.release(), header.c_str()));
  };
  add_header("Accept: application/json");
  // curl would otherwise wait up to a second for a "100 Continue" on larger bodies.
  add_header("Expect:");
  if (!token.empty()) {
    add_header("Authorization: Bearer " + token);
  }
  CURL* h = curl.get();
  if (body) {
    add_header("Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  http_response response;
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  // The token goes only to an HTTP(S) server.
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, "expctl");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_seconds);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
  if (CURLcode rc = curl_easy_perform(h); rc != CURLE_OK) {
    throw unreachable_error("could not reach " + url + ": "
                            + (error[0] != '\0' ? error : curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::string describe_error(const http_response& response) {
  std::string status = "HTTP " + std::to_string(response.status);
  json body = json::parse(response.body, nullptr, false);
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) {
    std::string excerpt = response.body.substr(0, 200);
    return status + (excerpt.empty() ? " with an empty body" : ": " + excerpt);
  }
  const json& error = body["error"];
  std::string message = error.value("message", std::string("(no message)"));
  if (error.contains("field") && error["field"].is_string()) {
    message += " (field: " + error["field"].get<std::string>() + ")";
  }
  if (error.contains("code") && error["code"].is_string()) {
    status += " " + error["code"].get<std::string>();
  }
  return message + " [" + status + "]";
}

std::string dump(const json& value, int indent) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string escape_segment(const std::string& text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += {'%', hex[c >> 4], hex[c & 15]};
    }
  }
  return out;
}

} // namespace expd::tools
