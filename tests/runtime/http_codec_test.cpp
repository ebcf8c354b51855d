#include "runtime/http_codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace expd::runtime;

namespace {

struct parsed {
  bool ok = true;
  std::vector<http_request> requests;
  http_error error;
};

parsed parse(std::string_view bytes, http_limits limits = {}) {
  http_request_parser parser(limits);
  parsed result;
  result.ok = parser.feed(bytes, result.requests);
  result.error = parser.error();
  return result;
}

// Feeds `bytes` in pieces of at most `step` bytes, stopping at the first error.
parsed parse_in_pieces(std::string_view bytes, std::size_t step) {
  http_request_parser parser;
  parsed result;
  for (std::size_t i = 0; i < bytes.size() && result.ok; i += step)
    result.ok = parser.feed(bytes.substr(i, step), result.requests);
  result.error = parser.error();
  return result;
}

void expect_same(const http_request& a, const http_request& b) {
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.query, b.query);
  EXPECT_EQ(a.headers, b.headers);
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(a.keep_alive, b.keep_alive);
}

const std::string post_request = "POST /v1/assign?unit=u1&exp=e%202 HTTP/1.1\r\n"
                                 "Host: localhost:8080\r\n"
                                 "Content-Type: application/json\r\n"
                                 "X-Empty:\r\n"
                                 "X-Request-Id:   abc-123  \r\n"
                                 "Content-Length: 13\r\n"
                                 "\r\n"
                                 "{\"unit\":\"u1\"}";

} // namespace

TEST(http_codec, simple_get) {
  auto r = parse("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.requests.size(), 1u);
  const auto& req = r.requests[0];
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/healthz");
  EXPECT_EQ(req.query, "");
  EXPECT_EQ(req.body, "");
  EXPECT_TRUE(req.keep_alive);
  ASSERT_EQ(req.headers.size(), 1u);
  EXPECT_EQ(req.headers[0].first, "host");
  EXPECT_EQ(req.headers[0].second, "x");
}

TEST(http_codec, post_with_body) {
  auto r = parse(post_request);
  ASSERT_TRUE(r.ok) << r.error.message;
  ASSERT_EQ(r.requests.size(), 1u);
  const auto& req = r.requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/v1/assign");
  EXPECT_EQ(req.query, "unit=u1&exp=e%202");
  EXPECT_EQ(req.body, "{\"unit\":\"u1\"}");
  ASSERT_NE(req.header("x-empty"), nullptr);
  EXPECT_EQ(*req.header("x-empty"), "");
  EXPECT_EQ(*req.header("x-request-id"), "abc-123"); // surrounding whitespace dropped
  EXPECT_EQ(*req.header("content-length"), "13");
}

TEST(http_codec, query_split) {
  struct {
    const char* target;
    const char* path;
    const char* query;
  } cases[] = {
    {"/a", "/a", ""},
    {"/a?", "/a", ""},
    {"/a?x=1&y=2", "/a", "x=1&y=2"},
    {"/a?x=1#frag", "/a", "x=1"},
    {"/a#frag", "/a", ""},
    {"/a%20b?q=%3F", "/a%20b", "q=%3F"},
    {"http://example.com:8080/p/q?z=9", "/p/q", "z=9"},
    {"http://example.com", "/", ""},
  };
  for (const auto& c : cases) {
    auto r = parse(std::string("GET ") + c.target + " HTTP/1.1\r\n\r\n");
    ASSERT_TRUE(r.ok) << c.target << ": " << r.error.message;
    ASSERT_EQ(r.requests.size(), 1u);
    EXPECT_EQ(r.requests[0].path, c.path) << c.target;
    EXPECT_EQ(r.requests[0].query, c.query) << c.target;
  }
}

TEST(http_codec, header_case_folding) {
  auto r = parse("GET / HTTP/1.1\r\nCONTENT-type: Text/Plain\r\nX-MiXeD-Case: KeepMe\r\n\r\n");
  ASSERT_TRUE(r.ok);
  const auto& req = r.requests.at(0);
  ASSERT_EQ(req.headers.size(), 2u);
  EXPECT_EQ(req.headers[0].first, "content-type");
  EXPECT_EQ(req.headers[1].first, "x-mixed-case");
  ASSERT_NE(req.header("x-mixed-case"), nullptr);
  EXPECT_EQ(*req.header("x-mixed-case"), "KeepMe"); // values keep their case
  EXPECT_EQ(*req.header("content-type"), "Text/Plain");
  EXPECT_EQ(req.header("X-Mixed-Case"), nullptr); // lookups take lower-case names
  EXPECT_EQ(req.header("missing"), nullptr);
}

TEST(http_codec, split_at_every_byte_boundary) {
  const auto whole = parse(post_request);
  ASSERT_TRUE(whole.ok);
  ASSERT_EQ(whole.requests.size(), 1u);
  for (std::size_t cut = 1; cut < post_request.size(); ++cut) {
    http_request_parser parser;
    std::vector<http_request> out;
    ASSERT_TRUE(parser.feed(std::string_view(post_request).substr(0, cut), out)) << cut;
    EXPECT_TRUE(out.empty()) << cut;
    ASSERT_TRUE(parser.feed(std::string_view(post_request).substr(cut), out)) << cut;
    ASSERT_EQ(out.size(), 1u) << cut;
    SCOPED_TRACE(cut);
    expect_same(out[0], whole.requests[0]);
  }
}

TEST(http_codec, one_byte_at_a_time) {
  const std::string three = post_request + "GET /a?b HTTP/1.1\r\nA: 1\r\n\r\n" + post_request;
  const auto whole = parse(three);
  ASSERT_TRUE(whole.ok);
  ASSERT_EQ(whole.requests.size(), 3u);
  for (std::size_t step : {1u, 2u, 3u, 7u, 64u}) {
    auto pieces = parse_in_pieces(three, step);
    ASSERT_TRUE(pieces.ok) << step;
    ASSERT_EQ(pieces.requests.size(), 3u) << step;
    for (std::size_t i = 0; i < 3; ++i) {
      SCOPED_TRACE(step);
      expect_same(pieces.requests[i], whole.requests[i]);
    }
  }
}

TEST(http_codec, pipelined_requests) {
  auto r = parse("GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
                 "POST /two?x=1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                 "DELETE /three HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(r.ok) << r.error.message;
  ASSERT_EQ(r.requests.size(), 3u);
  EXPECT_EQ(r.requests[0].method, "GET");
  EXPECT_EQ(r.requests[0].path, "/one");
  EXPECT_EQ(r.requests[1].method, "POST");
  EXPECT_EQ(r.requests[1].path, "/two");
  EXPECT_EQ(r.requests[1].query, "x=1");
  EXPECT_EQ(r.requests[1].body, "abc");
  EXPECT_EQ(r.requests[2].method, "DELETE");
  EXPECT_EQ(r.requests[2].path, "/three");
  EXPECT_TRUE(r.requests[2].headers.empty()); // no leak from the earlier requests
}

TEST(http_codec, requests_appended_to_existing_output) {
  http_request_parser parser;
  std::vector<http_request> out(1);
  ASSERT_TRUE(parser.feed("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n", out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].path, "/a");
  EXPECT_EQ(out[2].path, "/b");
  EXPECT_TRUE(parser.mid_request());
  ASSERT_TRUE(parser.feed("\r\n", out));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[3].path, "/c");
}

TEST(http_codec, chunked_body) {
  const std::string request = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "5\r\nhello\r\n"
                              "1;ext=1\r\n,\r\n"
                              "6\r\n world\r\n"
                              "0\r\nX-Trailer: t\r\n\r\n"
                              "GET /next HTTP/1.1\r\n\r\n";
  for (std::size_t step : {request.size(), std::size_t{1}, std::size_t{5}}) {
    auto r = parse_in_pieces(request, step);
    ASSERT_TRUE(r.ok) << r.error.message;
    ASSERT_EQ(r.requests.size(), 2u);
    EXPECT_EQ(r.requests[0].body, "hello, world");
    EXPECT_EQ(r.requests[0].header("x-trailer"), nullptr); // trailers are dropped
    EXPECT_EQ(r.requests[1].path, "/next");
  }
}

TEST(http_codec, keep_alive_rules) {
  struct {
    const char* request;
    bool keep_alive;
  } cases[] = {
    {"GET / HTTP/1.1\r\n\r\n", true},
    {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
    {"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", false},
    {"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", true},
    {"GET / HTTP/1.0\r\n\r\n", false},
    {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
    {"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", false},
  };
  for (const auto& c : cases) {
    auto r = parse(c.request);
    ASSERT_TRUE(r.ok) << c.request;
    ASSERT_EQ(r.requests.size(), 1u) << c.request;
    EXPECT_EQ(r.requests[0].keep_alive, c.keep_alive) << c.request;
  }
}

TEST(http_codec, nothing_parsed_after_connection_close) {
  http_request_parser parser;
  std::vector<http_request> out;
  ASSERT_TRUE(parser.feed("GET /a HTTP/1.1\r\nConnection: close\r\n\r\n"
                          "POST /b HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
                          out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].path, "/a");
  EXPECT_FALSE(out[0].keep_alive);
  EXPECT_FALSE(parser.mid_request());
  EXPECT_TRUE(parser.feed("GET /c HTTP/1.1\r\n\r\n", out));
  EXPECT_EQ(out.size(), 1u);
}

TEST(http_codec, body_at_limit_accepted) {
  http_limits limits;
  limits.max_body_bytes = 4;
  auto r = parse("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd", limits);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.requests.at(0).body, "abcd");
  r = parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n",
            limits);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.requests.at(0).body, "abcd");
}

TEST(http_codec, content_length_too_large_before_body) {
  http_limits limits;
  limits.max_body_bytes = 1000;
  http_request_parser parser(limits);
  std::vector<http_request> out;
  // Only the headers: the verdict must not wait for 1001 body bytes.
  EXPECT_FALSE(parser.feed("POST /v1/x HTTP/1.1\r\nContent-Length: 1001\r\n\r\n", out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(parser.error().status, 413);
  EXPECT_EQ(parser.error().message, "request body too large");

  auto huge = parse("POST / HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\n");
  EXPECT_FALSE(huge.ok);
  EXPECT_EQ(huge.error.status, 413);
}

TEST(http_codec, chunked_body_too_large) {
  http_limits limits;
  limits.max_body_bytes = 10;
  http_request_parser parser(limits);
  std::vector<http_request> out;
  ASSERT_TRUE(parser.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", out));
  ASSERT_TRUE(parser.feed("6\r\nabcdef\r\n", out));
  EXPECT_FALSE(parser.feed("6\r\nghijkl\r\n", out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(parser.error().status, 413);
}

TEST(http_codec, headers_too_large) {
  http_limits limits;
  limits.max_header_bytes = 1024;

  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 100; ++i)
    many += "X-Header-" + std::to_string(i) + ": value\r\n";
  many += "\r\n";
  auto r = parse(many, limits);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.status, 431);
  EXPECT_EQ(r.error.message, "request headers too large");

  // One long value arriving in small pieces fails as soon as it crosses the limit.
  http_request_parser parser(limits);
  std::vector<http_request> out;
  ASSERT_TRUE(parser.feed("GET / HTTP/1.1\r\nCookie: ", out));
  bool ok = true;
  int pieces = 0;
  for (; ok && pieces < 100; ++pieces)
    ok = parser.feed(std::string(100, 'c'), out);
  EXPECT_FALSE(ok);
  EXPECT_LE(pieces, 11);
  EXPECT_EQ(parser.error().status, 431);

  auto long_url = parse("GET /" + std::string(2000, 'a') + " HTTP/1.1\r\n\r\n", limits);
  EXPECT_FALSE(long_url.ok);
  EXPECT_EQ(long_url.error.status, 431);

  // http-parser's own cap (80 KiB) catches padding that carries no header bytes.
  auto padded = parse("GET / HTTP/1.1\r\nX:" + std::string(100 * 1024, ' ') + "v\r\n\r\n");
  EXPECT_FALSE(padded.ok);
  EXPECT_EQ(padded.error.status, 431);
}

TEST(http_codec, headers_just_under_limit_accepted) {
  const std::string request = "GET /abc HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
  http_limits limits;
  limits.max_header_bytes = request.size();
  EXPECT_TRUE(parse(request, limits).ok);
  limits.max_header_bytes = request.size() - 1;
  auto r = parse(request, limits);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.status, 431);
}

TEST(http_codec, malformed_requests) {
  const std::string bad[] = {
    std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), // TLS client hello
    "GARBAGE\r\n\r\n",
    "GET\r\n\r\n",
    "GET / XTTP/1.1\r\n\r\n",
    "GET / HTTP/x.1\r\n\r\n",
    "GET /a b HTTP/1.1\r\n\r\n",
    "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
    "GET / HTTP/1.1\r\nBad\x01Name: v\r\n\r\n",
    "GET / HTTP/1.1\r\nX: bad\x01value\r\n\r\n",
    "GET / HTTP/1.1\r\nName : v\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    "CONNECT example.com:443 HTTP/1.1\r\n\r\n",
  };
  for (const auto& bytes : bad) {
    auto r = parse(bytes);
    EXPECT_FALSE(r.ok) << bytes;
    EXPECT_TRUE(r.requests.empty()) << bytes;
    EXPECT_EQ(r.error.status, 400) << bytes;
    EXPECT_FALSE(r.error.message.empty()) << bytes;
  }
  EXPECT_EQ(parse("\x16\x03\x01").error.message, "invalid HTTP method");
}

// RFC 9112, strictly: what http-parser let through and a proxy in front may frame
// otherwise (request smuggling). Each is refused wherever the stream is cut, and no
// request behind it is read.
TEST(http_codec, ambiguous_framing_is_refused) {
  const std::string te = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::pair<std::string, int> bad[] = {
    {"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400},                 // obs-fold
    {"GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nX:\r\n b\r\nY: c\r\n\r\n", 400},          // folding an empty value
    {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", 501},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nxx", 400},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\nxx", 400},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\nContent-Length: 1\r\n\r\nx", 400},
    {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n0\r\n\r\n", 400},
    {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400},
    {"POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nx", 400},
    {te + "1\r\nxAB0\r\n\r\n", 400},                              // no CRLF after the data
    {te + "1\r\nx\n0\r\n\r\n", 400},
    {te + "1\rXx\r\n0\r\n\r\n", 400},                             // CR without LF
    {te + "1\nx\r\n0\r\n\r\n", 400},                              // bare LF
    {te + "1 junk\r\nx\r\n0\r\n\r\n", 400},                       // no ';' before an extension
    {te + "0x1\r\nx\r\n0\r\n\r\n", 400},
    {te + "-1\r\nx\r\n0\r\n\r\n", 400},
    {te + "\r\nx\r\n0\r\n\r\n", 400},
    {te + "1;a\x01\r\nx\r\n0\r\n\r\n", 400},
    {te + "1\r\nx\r\n0\r\n\rX", 400},                             // no CRLF after the trailers
    {te + "1\r\nx\r\n0\r\nT: a\r\n b\r\n\r\n", 400},              // obs-fold in a trailer
    {te + "1\r\nx\r\n0\r\nT : a\r\n\r\n", 400},
    {te + "1\r\nx\r\n0\r\nno colon\r\n\r\n", 400},
    {te + "fffffffffffffffffffff\r\n", 413},
  };
  for (const auto& [request, status] : bad) {
    const std::string bytes = request + "GET /behind HTTP/1.1\r\n\r\n";
    for (std::size_t step : {bytes.size(), std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
      auto r = parse_in_pieces(bytes, step);
      EXPECT_FALSE(r.ok) << step << ": " << request;
      EXPECT_TRUE(r.requests.empty()) << step << ": " << request;
      EXPECT_EQ(r.error.status, status) << step << ": " << request;
    }
  }
}

TEST(http_codec, strict_chunked_bodies_that_are_fine) {
  const std::string request = "POST /c HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
                              "00005\r\nhello\r\n"
                              "1 ;name=\"quoted value\"\r\n,\r\n"
                              "A\r\n world ...\r\n"
                              "0\r\nT1: a\r\nT2:\r\n\r\n"
                              "POST /d HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                              "GET /next HTTP/1.1\r\nX: a \r\n\r\n";
  for (std::size_t cut = 1; cut < request.size(); ++cut) {
    http_request_parser parser;
    std::vector<http_request> out;
    ASSERT_TRUE(parser.feed(std::string_view(request).substr(0, cut), out)) << cut;
    ASSERT_TRUE(parser.feed(std::string_view(request).substr(cut), out))
      << cut << ": " << parser.error().message;
    ASSERT_EQ(out.size(), 3u) << cut;
    EXPECT_EQ(out[0].body, "hello, world ...") << cut;
    EXPECT_EQ(out[1].path, "/d") << cut;
    EXPECT_EQ(out[1].body, "") << cut;
    EXPECT_EQ(out[2].path, "/next") << cut;
    EXPECT_EQ(*out[2].header("x"), "a") << cut;
  }
}

TEST(http_codec, a_chunked_request_is_mid_request_until_its_last_chunk) {
  http_request_parser parser;
  std::vector<http_request> out;
  ASSERT_TRUE(parser.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", out));
  EXPECT_TRUE(parser.mid_request());
  ASSERT_TRUE(parser.feed("c\r\n0\r\n\r\n", out));
  EXPECT_FALSE(parser.mid_request());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body, "abc");
  ASSERT_TRUE(parser.feed("POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\nGET /dropped HTTP/1.1\r\n\r\n", out));
  EXPECT_EQ(out.size(), 2u); // a request without keep-alive ends the stream
}

// Found by tests/fuzz (http_request): http-parser takes "*/healthz" for a path, which
// came through as one starting with '*'. A target is "*" or starts with '/' or a scheme.
TEST(http_codec, target_is_origin_absolute_or_asterisk_form) {
  for (const char* target : {"*/healthz", "**", "*?q=1"}) {
    auto r = parse(std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_FALSE(r.ok) << target;
    EXPECT_TRUE(r.requests.empty()) << target;
    EXPECT_EQ(r.error.status, 400) << target;
    EXPECT_EQ(r.error.message, "invalid URL") << target;
  }
  auto r = parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].path, "*");
}

TEST(http_codec, unsupported_version) {
  auto r = parse("GET / HTTP/2.0\r\n\r\n");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.status, 505);
}

TEST(http_codec, error_is_sticky) {
  http_request_parser parser;
  std::vector<http_request> out;
  ASSERT_TRUE(parser.feed("GET /ok HTTP/1.1\r\n\r\n", out));
  EXPECT_FALSE(parser.feed("BROKEN\r\n", out));
  const auto first = parser.error();
  EXPECT_EQ(first.status, 400);
  EXPECT_FALSE(parser.feed("GET / HTTP/1.1\r\n\r\n", out));
  EXPECT_FALSE(parser.feed("", out));
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(parser.error().status, first.status);
  EXPECT_EQ(parser.error().message, first.message);
}

TEST(http_codec, requests_before_an_error_are_kept) {
  http_request_parser parser;
  std::vector<http_request> out;
  EXPECT_FALSE(parser.feed("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n\x16\x03", out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].path, "/b");
  EXPECT_EQ(parser.error().status, 400);
}

TEST(http_codec, mid_request_transitions) {
  http_request_parser parser;
  std::vector<http_request> out;
  EXPECT_FALSE(parser.mid_request());
  ASSERT_TRUE(parser.feed("", out));
  EXPECT_FALSE(parser.mid_request());
  ASSERT_TRUE(parser.feed("G", out));
  EXPECT_TRUE(parser.mid_request());
  ASSERT_TRUE(parser.feed("ET / HTTP/1.1\r\nContent-Length: 2\r\n\r\n", out));
  EXPECT_TRUE(parser.mid_request()); // body outstanding
  ASSERT_TRUE(parser.feed("x", out));
  EXPECT_TRUE(parser.mid_request());
  ASSERT_TRUE(parser.feed("y", out));
  EXPECT_FALSE(parser.mid_request());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(parser.feed("\r\n", out)); // stray CRLF between requests is tolerated
  EXPECT_FALSE(parser.mid_request());
  ASSERT_TRUE(parser.feed("GET / HTTP/1.1\r\n\r\nPOST", out));
  EXPECT_TRUE(parser.mid_request());
  EXPECT_EQ(out.size(), 2u);
}

TEST(http_codec, moved_parser_continues) {
  http_request_parser first;
  std::vector<http_request> out;
  ASSERT_TRUE(first.feed("GET /moved HTTP/1.1\r\nHo", out));
  http_request_parser second(std::move(first));
  ASSERT_TRUE(second.feed("st: h\r\n\r\n", out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].path, "/moved");
  EXPECT_EQ(*out[0].header("host"), "h");
}

TEST(http_codec, response_serialization) {
  http_response response;
  response.body = "{\"ok\":true}";
  response.extra_headers = {{"X-Request-Id", "r1"}, {"Retry-After", "5"}};
  std::string out = "prefix|";
  append_http_response(out, response);
  EXPECT_EQ(out, "prefix|"
                 "HTTP/1.1 200 OK\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: 11\r\n"
                 "Connection: keep-alive\r\n"
                 "X-Request-Id: r1\r\n"
                 "Retry-After: 5\r\n"
                 "\r\n"
                 "{\"ok\":true}");

  http_response error;
  error.status = 431;
  error.content_type = "text/plain";
  error.body = "too large";
  error.keep_alive = false;
  out.clear();
  append_http_response(out, error);
  EXPECT_EQ(out, "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                 "Content-Type: text/plain\r\n"
                 "Content-Length: 9\r\n"
                 "Connection: close\r\n"
                 "\r\n"
                 "too large");

  http_response empty;
  empty.status = 404;
  out.clear();
  append_http_response(out, empty);
  EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: 0\r\n"
                 "Connection: keep-alive\r\n"
                 "\r\n");
}

TEST(http_codec, no_content_has_no_length_or_body) {
  http_response response;
  response.status = 204;
  response.body = "ignored";
  std::string out;
  append_http_response(out, response);
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n");
}

TEST(http_codec, responses_round_trip_length) {
  // Several responses appended to one buffer, as for pipelined requests.
  std::string out;
  for (int i = 0; i < 3; ++i) {
    http_response response;
    response.body = std::string(static_cast<std::size_t>(i) * 1000, 'z');
    append_http_response(out, response);
  }
  EXPECT_NE(out.find("Content-Length: 0\r\n"), std::string::npos);
  EXPECT_NE(out.find("Content-Length: 1000\r\n"), std::string::npos);
  EXPECT_NE(out.find("Content-Length: 2000\r\n"), std::string::npos);
  EXPECT_EQ(out.size(), 3 * std::string("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                        "Connection: keep-alive\r\n\r\n")
                                 .size()
                          + std::string("Content-Length: 0\r\n").size()
                          + 2 * std::string("Content-Length: 1000\r\n").size() + 3000);
}

TEST(http_codec, reason_phrases) {
  const std::pair<int, const char*> expected[] = {
    {200, "OK"},
    {201, "Created"},
    {204, "No Content"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {413, "Payload Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Entity"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {503, "Service Unavailable"},
    {505, "HTTP Version Not Supported"},
  };
  for (const auto& [status, reason] : expected)
    EXPECT_EQ(http_reason(status), reason) << status;
  EXPECT_EQ(http_reason(599), "Unknown");
}
