#include "tools/http_response_reader.hpp"

#include <cstring>
#include <string_view>

namespace expd::tools {

namespace {

bool equals_lower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size())
    return false;
  for (std::size_t i = 0; i < text.size(); ++i)
    if ((text[i] | 0x20) != lower[i] && text[i] != lower[i])
      return false;
  return true;
}

// Whether the comma-separated list `value` holds `token` (lower case), as in Connection.
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (equals_lower(item, token))
      return true;
    if (comma == std::string_view::npos)
      break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

} // namespace

void http_response_reader::reset() {
  head_.clear();
  started_ = in_body_ = body_to_close_ = false;
  body_left_ = 0;
  status_ = 0;
  keep_alive_ = true;
  error_.clear();
}

http_response_reader::result http_response_reader::fail(std::string why) {
  error_ = std::move(why);
  return result::malformed;
}

http_response_reader::result http_response_reader::feed(const char* data, std::size_t size,
                                                        std::size_t* used) {
  *used = 0;
  for (;;) {
    if (in_body_) {
      if (body_to_close_) {
        *used = size;
        return result::need_more;
      }
      std::size_t take = body_left_ < size - *used ? static_cast<std::size_t>(body_left_) : size - *used;
      body_left_ -= take;
      *used += take;
      return body_left_ == 0 ? result::complete : result::need_more;
    }
    if (*used == size)
      return result::need_more;
    started_ = true;
    const char* rest = data + *used;
    std::size_t rest_size = size - *used;
    // Most heads arrive whole in one read: parse them where they lie.
    const char* head = rest;
    std::size_t head_size = 0;
    if (head_.empty()) {
      const void* end = memmem(rest, rest_size, "\r\n\r\n", 4);
      if (end != nullptr) {
        head_size = static_cast<std::size_t>(static_cast<const char*>(end) - rest) + 4;
        *used += head_size;
      }
    } else {
      // The blank line may straddle the pieces: look from 3 bytes before the new ones.
      std::size_t from = head_.size() < 3 ? 0 : head_.size() - 3;
      head_.append(rest, rest_size);
      std::size_t end = head_.find("\r\n\r\n", from);
      if (end != std::string::npos) {
        head_size = end + 4;
        *used += head_size - (head_.size() - rest_size);
        head = head_.data();
      }
    }
    if (head_size == 0) {
      if (head_.empty())
        head_.assign(rest, rest_size);
      *used = size;
      if (head_.size() > max_head_bytes)
        return fail("the status line and headers exceed 64 KiB");
      return result::need_more;
    }
    if (head_size > max_head_bytes)
      return fail("the status line and headers exceed 64 KiB");
    result parsed = parse_head(head, head_size);
    head_.clear();
    if (parsed != result::need_more)
      return parsed;
    if (status_ >= 100 && status_ < 200) {
      status_ = 0; // an interim response: the real one follows
      continue;
    }
    in_body_ = true;
    if (!body_to_close_ && body_left_ == 0)
      return result::complete;
  }
}

http_response_reader::result http_response_reader::feed_eof() {
  if (in_body_ && body_to_close_)
    return result::complete;
  if (!started_)
    return result::need_more;
  return fail(in_body_ ? "the connection closed inside the body" : "the connection closed inside the headers");
}

// The head from the status line to the blank line, inclusive. need_more: parsed.
http_response_reader::result http_response_reader::parse_head(const char* head, std::size_t size) {
  std::string_view text(head, size - 2); // lines, each ending in CRLF
  std::size_t eol = text.find("\r\n");
  std::string_view status_line = text.substr(0, eol);
  // "HTTP/1.1 200 OK": the reason phrase may be empty or missing.
  if (status_line.size() < 12 || status_line.compare(0, 7, "HTTP/1.") != 0
      || (status_line[7] != '0' && status_line[7] != '1') || status_line[8] != ' '
      || (status_line.size() > 12 && status_line[12] != ' '))
    return fail("not an HTTP/1.x status line: \"" + std::string(status_line.substr(0, 80)) + "\"");
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (status_line[i] < '0' || status_line[i] > '9')
      return fail("the status code is not 3 digits");
    status = status * 10 + (status_line[i] - '0');
  }
  if (status < 100)
    return fail("the status code is below 100");
  status_ = status;
  bool http10 = status_line[7] == '0';
  keep_alive_ = !http10;
  bool has_length = false;
  std::uint64_t length = 0;
  for (std::size_t at = eol + 2; at < text.size();) {
    std::size_t end = text.find("\r\n", at);
    std::string_view header = text.substr(at, end - at);
    at = end + 2;
    std::size_t colon = header.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return fail("a header line without a name and colon");
    std::string_view name = header.substr(0, colon), value = header.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
      value.remove_suffix(1);
    if (equals_lower(name, "content-length")) {
      if (value.empty() || value.size() > 18 || value.find_first_not_of("0123456789") != std::string_view::npos)
        return fail("Content-Length is not a number");
      std::uint64_t n = 0;
      for (char c : value)
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
      if (has_length && n != length)
        return fail("two different Content-Length headers");
      has_length = true;
      length = n;
    } else if (equals_lower(name, "transfer-encoding")) {
      return fail("Transfer-Encoding is not supported");
    } else if (equals_lower(name, "connection")) {
      if (has_token(value, "close"))
        keep_alive_ = false;
      else if (has_token(value, "keep-alive"))
        keep_alive_ = true;
    }
  }
  bool no_body = (status >= 100 && status < 200) || status == 204 || status == 304;
  if (no_body) {
    body_left_ = 0;
  } else if (has_length) {
    body_left_ = length;
  } else {
    body_to_close_ = true;
    keep_alive_ = false;
  }
  return result::need_more;
}

} // namespace expd::tools
