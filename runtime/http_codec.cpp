#include "runtime/http_codec.hpp"

#include <http_parser.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace expd::runtime {

const std::string* http_request::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (key == name)
      return &value;
  return nullptr;
}

namespace {

constexpr std::size_t request_line_framing = sizeof("  HTTP/1.1\r\n") - 1; // both spaces
constexpr std::size_t header_line_framing = sizeof(": \r\n") - 1;
constexpr std::size_t max_body_reserve = 64 * 1024;

// Splits the request target into path and query. Origin-form ("/p?q#f") is what
// clients send; absolute-form ("http://h/p?q") is legal and goes through http-parser.
bool split_target(http_request& r) {
  std::string& target = r.path;
  if (!target.empty() && target[0] != '/' && target != "*") {
    http_parser_url u;
    http_parser_url_init(&u);
    // http-parser also parses "*/x" as a path; absolute-form has a host.
    if (target.size() > UINT16_MAX
        || http_parser_parse_url(target.data(), target.size(), 0, &u) != 0
        || !(u.field_set & (1 << UF_HOST)))
      return false;
    if (u.field_set & (1 << UF_QUERY))
      r.query.assign(target, u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
    if (u.field_set & (1 << UF_PATH))
      target = target.substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
    else
      target = "/";
    return true;
  }
  const auto hash = target.find('#');
  if (hash != std::string::npos)
    target.resize(hash);
  const auto question = target.find('?');
  if (question != std::string::npos) {
    r.query.assign(target, question + 1, std::string::npos);
    target.resize(question);
  }
  return true;
}

// Chunked bodies (RFC 9112 section 7.1), strictly. Debian builds http-parser without
// HTTP_PARSER_STRICT, and so it takes any two bytes for the CRLF after chunk data, any
// byte for the LF of a size line and junk after the size: framing a proxy in front may
// read otherwise (request smuggling). http-parser reads the headers; this the body.
class chunked_decoder {
public:
  enum class step { more, done, failed };

  // Reads bytes of `in` into `body`, `used` of them. After `failed`, `error` says why.
  step feed(std::string_view in, std::size_t& used, std::string& body, const http_limits& limits,
            http_error& error) {
    std::size_t i = 0;
    auto outcome = step::more;
    while (i < in.size() && outcome == step::more) {
      switch (state_) {
      case state::data: {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, in.size() - i));
        body.append(in.data() + i, n);
        i += n;
        left_ -= n;
        if (left_ == 0)
          state_ = state::data_cr;
        break;
      }
      case state::data_cr:
      case state::data_lf:
        if (in[i++] != (state_ == state::data_cr ? '\r' : '\n'))
          outcome = fail(error, 400, "chunk data not followed by CRLF");
        else
          state_ = state_ == state::data_cr ? state::data_lf : state::size_line;
        break;
      case state::size_line:
      case state::trailer_line: {
        auto lf = in.find('\n', i);
        auto end = lf == std::string_view::npos ? in.size() : lf;
        line_.append(in.data() + i, end - i);
        i = end;
        if (state_ == state::size_line && line_.size() > max_size_line)
          outcome = fail(error, 400, "chunk size line too long");
        else if (state_ == state::trailer_line
                 && trailer_bytes_ + line_.size() > limits.max_header_bytes)
          outcome = fail(error, 431, "request trailers too large");
        else if (lf != std::string_view::npos) {
          ++i;
          outcome = end_line(body, limits, error);
        }
        break;
      }
      }
    }
    used = i;
    return outcome;
  }

private:
  enum class state { size_line, data, data_cr, data_lf, trailer_line };
  static constexpr std::size_t max_size_line = 1024; // size and extensions

  static step fail(http_error& error, int status, std::string message) {
    error.status = status;
    error.message = std::move(message);
    return step::failed;
  }

  static bool control(char c) noexcept {
    return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
  }

  // tchar of RFC 9110 section 5.6.2.
  static bool token_char(char c) noexcept {
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
           || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  }

  step end_line(std::string& body, const http_limits& limits, http_error& error) {
    if (line_.empty() || line_.back() != '\r')
      return fail(error, 400, "chunked line not ended by CRLF");
    line_.pop_back();
    auto outcome = state_ == state::size_line ? size_line(body, limits, error) : trailer_line(error);
    line_.clear();
    return outcome;
  }

  // chunk-size [ chunk-ext ]: 1*HEXDIG *( BWS ";" ... ).
  step size_line(const std::string& body, const http_limits& limits, http_error& error) {
    std::size_t k = 0;
    std::uint64_t size = 0;
    for (int digit; k < line_.size() && (digit = hex_digit(line_[k])) >= 0; ++k) {
      size = size * 16 + static_cast<std::uint64_t>(digit);
      if (size > limits.max_body_bytes) // also keeps the sum from overflowing
        return fail(error, 413, "request body too large");
    }
    if (k == 0)
      return fail(error, 400, "invalid chunk size");
    while (k < line_.size() && (line_[k] == ' ' || line_[k] == '\t'))
      ++k;
    if (k < line_.size()
        && (line_[k] != ';' || std::any_of(line_.begin() + k, line_.end(), control)))
      return fail(error, 400, "invalid chunk size");
    if (body.size() + size > limits.max_body_bytes)
      return fail(error, 413, "request body too large");
    left_ = size;
    state_ = size == 0 ? state::trailer_line : state::data;
    return step::more;
  }

  // Trailer fields carry nothing expd uses; they are checked as header lines are.
  step trailer_line(http_error& error) {
    if (line_.empty())
      return step::done;
    if (line_[0] == ' ' || line_[0] == '\t')
      return fail(error, 400, "obsolete line folding");
    auto colon = line_.find(':');
    if (colon == 0 || colon == std::string::npos
        || !std::all_of(line_.begin(), line_.begin() + colon, token_char)
        || std::any_of(line_.begin() + colon, line_.end(), control))
      return fail(error, 400, "invalid trailer field");
    trailer_bytes_ += line_.size() + 2;
    return step::more;
  }

  static int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9')
      return c - '0';
    c = static_cast<char>(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  }

  state state_ = state::size_line;
  std::string line_; // the size or trailer line so far
  std::uint64_t left_ = 0;
  std::size_t trailer_bytes_ = 0;
};

bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c; };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) {
           return lower(x) == lower(y);
         });
}

} // namespace

struct http_request_parser::impl {
  http_parser parser;
  http_limits limits;
  http_error error;
  http_request current;
  std::vector<http_request>* out = nullptr;
  std::size_t header_bytes = 0;
  bool failed = false;
  bool in_message = false;
  bool in_field = false;     // the last header callback was on_header_field
  bool headers_done = false; // later field/value callbacks are chunked trailers
  bool closed = false;       // a request without keep-alive ended the stream
  bool chunked = false;      // the body is the decoder's, http-parser waits
  chunked_decoder decoder;
  std::string_view buffer;   // what http_parser_execute runs over now
  bool tail_lf = false;      // the bytes before `buffer` end in LF, then
  bool tail_ws = false;      // ... one or more spaces or tabs

  explicit impl(http_limits l) : limits(l) {
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = this;
  }

  int fail(int status, std::string message) {
    failed = true;
    error.status = status;
    error.message = std::move(message);
    return -1; // aborts from any callback: on_headers_complete treats 1 and 2 as flags
  }

  // Counts method, target, names and values plus canonical framing (spaces, ": ",
  // CRLF). Padding whitespace is not seen here; http-parser's own 80 KiB cap bounds it.
  bool count_header(std::size_t n) {
    header_bytes += n;
    if (header_bytes <= limits.max_header_bytes)
      return true;
    fail(431, "request headers too large");
    return false;
  }

  static impl& self(http_parser* p) { return *static_cast<impl*>(p->data); }

  // Whether the value at `at` starts a line with a space or tab: obs-fold, a header
  // continued on the next line. RFC 9112 section 5.2 lets a server refuse it, and
  // http-parser would join it to the value a proxy may have split off.
  bool folded(const char* at, std::size_t len) const noexcept {
    const char* p = at;
    while (p > buffer.data() && (p[-1] == ' ' || p[-1] == '\t'))
      --p;
    const bool blank = p < at || (len > 0 && (*at == ' ' || *at == '\t'));
    if (p > buffer.data())
      return p[-1] == '\n' && blank;
    return tail_lf && (blank || tail_ws);
  }

  void remember_tail(std::string_view consumed) noexcept {
    auto k = consumed.size();
    while (k > 0 && (consumed[k - 1] == ' ' || consumed[k - 1] == '\t'))
      --k;
    if (k == 0) {
      tail_ws = tail_ws || !consumed.empty();
      return;
    }
    tail_lf = consumed[k - 1] == '\n';
    tail_ws = k < consumed.size();
  }

  void finish_request() {
    in_message = false;
    out->push_back(std::move(current));
    current = http_request{};
    // The connection closes after this answer: requests pipelined behind it would be
    // run for nobody, so stop here and drop the rest of the stream.
    closed = !out->back().keep_alive;
  }

  // RFC 9112 section 6: chunked is the one transfer coding expd decodes. Not final (or
  // in HTTP/1.0), the body's length is unknown: 400. Others before it: 501.
  bool check_transfer_encoding(const http_parser* p) {
    bool present = false;
    std::vector<std::string_view> codings;
    for (const auto& [name, value] : current.headers) {
      if (name != "transfer-encoding")
        continue;
      present = true;
      std::string_view list = value;
      while (!list.empty()) {
        auto comma = list.find(',');
        auto item = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
          item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
          item.remove_suffix(1);
        if (!item.empty())
          codings.push_back(item);
      }
    }
    if (!present)
      return true;
    if (p->http_minor == 0) {
      fail(400, "Transfer-Encoding in an HTTP/1.0 request");
      return false;
    }
    if (codings.empty() || !ascii_iequals(codings.back(), "chunked")) {
      fail(400, "Transfer-Encoding must end with chunked");
      return false;
    }
    codings.pop_back();
    for (auto coding : codings)
      if (ascii_iequals(coding, "chunked")) {
        fail(400, "chunked applied more than once");
        return false;
      }
    if (!codings.empty()) {
      fail(501, "transfer codings other than chunked are not implemented");
      return false;
    }
    return true;
  }

  static int on_message_begin(http_parser* p) {
    auto& s = self(p);
    s.in_message = true;
    s.in_field = false;
    s.headers_done = false;
    s.header_bytes = 0;
    s.current.headers.reserve(8); // clients send a handful: grow once, not four times
    return 0;
  }

  static int on_url(http_parser* p, const char* at, std::size_t len) {
    auto& s = self(p);
    std::size_t framing = 0;
    if (s.current.path.empty()) // first piece: the method is parsed by now
      framing = std::strlen(http_method_str(static_cast<http_method>(p->method)))
                + request_line_framing;
    if (!s.count_header(len + framing))
      return -1;
    s.current.path.append(at, len); // split into path and query once headers are done
    return 0;
  }

  static int on_header_field(http_parser* p, const char* at, std::size_t len) {
    auto& s = self(p);
    if (!s.count_header(len + (s.in_field ? 0 : header_line_framing)))
      return -1;
    // http-parser tolerates "Name : value"; RFC 9112 says reject it (request smuggling).
    if (std::memchr(at, ' ', len) || std::memchr(at, '\t', len))
      return s.fail(400, "whitespace in header name");
    const bool continued = s.in_field;
    s.in_field = true;
    if (s.headers_done) // trailers carry nothing we use
      return 0;
    auto& headers = s.current.headers;
    if (!continued)
      headers.emplace_back();
    auto& name = headers.back().first;
    const std::size_t old = name.size();
    name.resize(old + len);
    // http-parser only lets token characters through, so ASCII folding is enough.
    for (std::size_t i = 0; i < len; ++i) {
      const char c = at[i];
      name[old + i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
    }
    return 0;
  }

  // http-parser calls this (with length 0 for an empty value) before the next field,
  // so in_field reliably tells a new name from a name continued across feed() calls.
  static int on_header_value(http_parser* p, const char* at, std::size_t len) {
    auto& s = self(p);
    if (!s.count_header(len))
      return -1;
    if (s.folded(at, len))
      return s.fail(400, "obsolete line folding");
    s.in_field = false;
    if (!s.headers_done)
      s.current.headers.back().second.append(at, len);
    return 0;
  }

  static int on_headers_complete(http_parser* p) {
    auto& s = self(p);
    s.headers_done = true;
    if (!s.count_header(2)) // the blank line
      return -1;
    if (p->http_major != 1)
      return s.fail(505, "HTTP version not supported");
    if (p->upgrade) // Upgrade or CONNECT: what follows the headers is not HTTP/1
      return s.fail(400, "protocol upgrade not supported");
    // Refuse before the body arrives rather than after buffering it.
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > s.limits.max_body_bytes)
      return s.fail(413, "request body too large");
    auto& r = s.current;
    if (!split_target(r))
      return s.fail(400, "invalid URL");
    r.method = http_method_str(static_cast<http_method>(p->method));
    for (auto& header : r.headers) { // trailing OWS is not part of the value
      auto& v = header.second;
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
        v.pop_back();
    }
    if (!s.check_transfer_encoding(p))
      return -1;
    r.keep_alive = http_should_keep_alive(p) != 0;
    // Capped so that a Content-Length the client never honours cannot pin memory.
    if (p->flags & F_CONTENTLENGTH)
      r.body.reserve(std::min<std::uint64_t>(p->content_length, max_body_reserve));
    if (p->flags & F_CHUNKED) {
      // 2: http-parser stops after the headers, as for an upgrade; the decoder goes on.
      s.chunked = true;
      s.decoder = chunked_decoder{};
      return 2;
    }
    return 0;
  }

  static int on_body(http_parser* p, const char* at, std::size_t len) {
    auto& s = self(p);
    if (s.current.body.size() + len > s.limits.max_body_bytes)
      return s.fail(413, "request body too large");
    s.current.body.append(at, len);
    return 0;
  }

  static int on_message_complete(http_parser* p) {
    auto& s = self(p);
    if (s.chunked) // http-parser's end of the headers, not of the request
      return 0;
    s.finish_request();
    if (s.closed)
      http_parser_pause(p, 1);
    return 0;
  }

  // Runs http-parser over `data`; returns the bytes it took.
  std::size_t execute(std::string_view data) {
    buffer = data;
    const auto parsed = http_parser_execute(&parser, &settings(), data.data(), data.size());
    buffer = {};
    remember_tail(data.substr(0, parsed));
    if (failed)
      return parsed;
    const auto err = HTTP_PARSER_ERRNO(&parser);
    if (err == HPE_PAUSED && closed)
      return parsed;
    if (err == HPE_HEADER_OVERFLOW)
      fail(431, "request headers too large");
    else if (err != HPE_OK)
      fail(400, http_errno_description(err));
    else if (parsed != data.size() && !chunked)
      fail(400, "unparsed bytes after request");
    return parsed;
  }

  // Runs the chunked decoder over `data`; returns the bytes it took.
  std::size_t decode(std::string_view data) {
    std::size_t used = 0;
    switch (decoder.feed(data, used, current.body, limits, error)) {
    case chunked_decoder::step::more: break;
    case chunked_decoder::step::failed: failed = true; break;
    case chunked_decoder::step::done:
      chunked = false;
      finish_request();
      http_parser_init(&parser, HTTP_REQUEST); // out of its upgrade state
      parser.data = this;
      break;
    }
    return used;
  }

  static const http_parser_settings& settings() {
    static const http_parser_settings instance = [] {
      http_parser_settings st;
      http_parser_settings_init(&st);
      st.on_message_begin = on_message_begin;
      st.on_url = on_url;
      st.on_header_field = on_header_field;
      st.on_header_value = on_header_value;
      st.on_headers_complete = on_headers_complete;
      st.on_body = on_body;
      st.on_message_complete = on_message_complete;
      return st;
    }();
    return instance;
  }
};

http_request_parser::http_request_parser(http_limits limits)
  : impl_(std::make_unique<impl>(limits)) {}

http_request_parser::~http_request_parser() = default;
http_request_parser::http_request_parser(http_request_parser&&) noexcept = default;
http_request_parser& http_request_parser::operator=(http_request_parser&&) noexcept = default;

bool http_request_parser::feed(std::string_view data, std::vector<http_request>& out) {
  auto& s = *impl_;
  if (s.failed)
    return false;
  // Zero bytes would tell http-parser that the stream ended.
  s.out = &out;
  while (!data.empty() && !s.failed && !s.closed)
    data.remove_prefix(s.chunked ? s.decode(data) : s.execute(data));
  s.out = nullptr;
  return !s.failed;
}

const http_error& http_request_parser::error() const noexcept { return impl_->error; }

bool http_request_parser::mid_request() const noexcept { return impl_->in_message; }

namespace {

void append_decimal(std::string& out, std::uint64_t value) {
  char buf[24];
  const auto result = std::to_chars(buf, buf + sizeof(buf), value);
  out.append(buf, result.ptr);
}

} // namespace

void append_http_response(std::string& out, const http_response& response) {
  const auto reason = http_reason(response.status);
  // RFC 9110: 1xx, 204 and 304 have no body; 1xx and 204 must not send Content-Length.
  const bool bodiless =
    response.status < 200 || response.status == 204 || response.status == 304;
  std::size_t size = 96 + reason.size() + response.content_type.size() + response.body.size();
  for (const auto& [name, value] : response.extra_headers)
    size += name.size() + value.size() + 4;
  out.reserve(out.size() + size); // libstdc++ grows geometrically, so no thrashing

  out += "HTTP/1.1 ";
  append_decimal(out, static_cast<std::uint64_t>(response.status));
  out += ' ';
  out += reason;
  out += "\r\n";
  if (!bodiless) {
    if (!response.content_type.empty()) {
      out += "Content-Type: ";
      out += response.content_type;
      out += "\r\n";
    }
    out += "Content-Length: ";
    append_decimal(out, response.body.size());
    out += "\r\n";
  }
  out += response.keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  for (const auto& [name, value] : response.extra_headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
  if (!bodiless)
    out += response.body;
}

std::string_view http_reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 411: return "Length Required";
  case 412: return "Precondition Failed";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 422: return "Unprocessable Entity";
  case 426: return "Upgrade Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

} // namespace expd::runtime
