#include "runtime/pg_binary_copy.hpp"

#include <cstring>
#include <stdexcept>

#include <libpq-fe.h>

namespace expd::runtime {

namespace {

constexpr char signature[] = "PGCOPY\n\377\r\n";
constexpr std::size_t signature_size = 11;
// 2000-01-01 (PostgreSQL's epoch) in Unix microseconds.
constexpr std::int64_t pg_epoch_micros = 946684800LL * 1000000;

std::uint32_t be32(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return std::uint32_t{u[0]} << 24 | std::uint32_t{u[1]} << 16 | std::uint32_t{u[2]} << 8 | u[3];
}

std::uint16_t be16(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint16_t>(u[0] << 8 | u[1]);
}

std::uint64_t be64(const char* p) {
  return std::uint64_t{be32(p)} << 32 | be32(p + 4);
}

[[noreturn]] void malformed(const char* what) {
  throw std::runtime_error(std::string{"binary COPY: "} + what);
}

struct result_guard {
  PGresult* r;
  ~result_guard() {
    PQclear(r);
  }
};

// Parses the byte stream of a binary COPY, message by message (a row may, in
// principle, span messages: the rest waits in `pending`).
class copy_parser {
public:
  explicit copy_parser(const std::function<void(const binary_row&)>& on_row) : on_row_(on_row) {
  }

  void feed(const char* data, std::size_t size) {
    if (pending_.empty()) {
      auto used = parse(data, size);
      pending_.assign(data + used, size - used);
    } else {
      pending_.append(data, size);
      auto used = parse(pending_.data(), pending_.size());
      pending_.erase(0, used);
    }
  }

  void finish() const {
    if (!trailer_seen_ || !pending_.empty())
      malformed("the stream ended inside a row");
  }

  std::uint64_t rows() const {
    return rows_;
  }

private:
  // Consumes whole items of [p, p + size); returns how many bytes.
  std::size_t parse(const char* p, std::size_t size) {
    std::size_t at = 0;
    if (!header_seen_) {
      if (size < signature_size + 8)
        return 0;
      if (std::memcmp(p, signature, signature_size) != 0)
        malformed("no signature");
      auto extension = be32(p + signature_size + 4);
      if (size < signature_size + 8 + extension)
        return 0;
      at = signature_size + 8 + extension;
      header_seen_ = true;
    }
    while (at + 2 <= size) {
      auto count = static_cast<std::int16_t>(be16(p + at));
      if (count == -1) {
        trailer_seen_ = true;
        return at + 2;
      }
      if (count < 0)
        malformed("negative field count");
      auto pos = at + 2;
      fields_.clear();
      for (int i = 0; i < count; ++i) {
        if (pos + 4 > size)
          return at;
        auto length = static_cast<std::int32_t>(be32(p + pos));
        pos += 4;
        if (length == -1) {
          fields_.emplace_back();
          continue;
        }
        if (length < 0)
          malformed("negative field length");
        if (pos + length > size)
          return at;
        fields_.emplace_back(p + pos, length);
        pos += length;
      }
      on_row_(fields_);
      ++rows_;
      at = pos;
    }
    return at;
  }

  const std::function<void(const binary_row&)>& on_row_;
  std::string pending_;
  binary_row fields_;
  bool header_seen_ = false, trailer_seen_ = false;
  std::uint64_t rows_ = 0;
};

} // namespace

pg_binary_copy::pg_binary_copy(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn_);
    PQfinish(conn_);
    throw std::runtime_error("PostgreSQL connection: " + message);
  }
}

pg_binary_copy::~pg_binary_copy() {
  PQfinish(conn_);
}

void pg_binary_copy::exec(const std::string& statement) {
  result_guard r{PQexec(conn_, statement.c_str())};
  if (PQresultStatus(r.r) != PGRES_COMMAND_OK && PQresultStatus(r.r) != PGRES_TUPLES_OK)
    throw std::runtime_error(PQerrorMessage(conn_));
}

std::uint64_t pg_binary_copy::rows(const std::string& query,
                                   const std::function<void(const binary_row&)>& on_row) {
  {
    result_guard r{PQexec(conn_, ("COPY (" + query + ") TO STDOUT (FORMAT binary)").c_str())};
    if (PQresultStatus(r.r) != PGRES_COPY_OUT)
      throw std::runtime_error(PQerrorMessage(conn_));
  }
  copy_parser parser{on_row};
  char* buffer = nullptr;
  int n;
  try {
    while ((n = PQgetCopyData(conn_, &buffer, 0)) > 0) {
      struct freed {
        char* b;
        ~freed() {
          PQfreemem(b);
        }
      } guard{buffer};
      parser.feed(buffer, static_cast<std::size_t>(n));
    }
  } catch (...) {
    // The server is still sending: only a new connection stops it cleanly.
    PQfinish(conn_);
    conn_ = nullptr;
    throw;
  }
  if (n == -2)
    throw std::runtime_error(PQerrorMessage(conn_));
  result_guard r{PQgetResult(conn_)};
  if (PQresultStatus(r.r) != PGRES_COMMAND_OK)
    throw std::runtime_error(PQerrorMessage(conn_));
  while (auto* extra = PQgetResult(conn_))
    PQclear(extra);
  parser.finish();
  return parser.rows();
}

namespace binary_field {

std::int64_t int64(std::string_view f) {
  if (f.size() != 8)
    malformed("bigint of the wrong size");
  return static_cast<std::int64_t>(be64(f.data()));
}

std::int64_t timestamp_micros(std::string_view f) {
  if (f.size() != 8)
    malformed("timestamp of the wrong size");
  return static_cast<std::int64_t>(be64(f.data())) + pg_epoch_micros;
}

void uuid_array(std::string_view f, std::vector<std::string_view>& out) {
  out.clear();
  if (f.size() < 12)
    malformed("array too short");
  auto dims = be32(f.data());
  if (dims == 0)
    return;
  if (dims != 1 || f.size() < 20)
    malformed("not a one-dimensional array");
  auto count = be32(f.data() + 12);
  std::size_t at = 20;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (at + 4 > f.size())
      malformed("array ends early");
    auto length = static_cast<std::int32_t>(be32(f.data() + at));
    at += 4;
    if (length == -1)
      continue;
    if (length != 16 || at + 16 > f.size())
      malformed("uuid of the wrong size");
    out.push_back(f.substr(at, 16));
    at += 16;
  }
}

std::string_view jsonb_text(std::string_view f) {
  if (f.empty() || f[0] != 1)
    malformed("unknown jsonb version");
  return f.substr(1);
}

} // namespace binary_field

} // namespace expd::runtime
