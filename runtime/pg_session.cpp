#include "runtime/pg_session.hpp"

namespace expd::runtime {

pg_session::pg_session(std::string url) : url_(std::move(url)) {
}

pqxx::connection& pg_session::get() {
  if (!conn_ || !conn_->is_open())
    conn_ = std::make_unique<pqxx::connection>(url_);
  return *conn_;
}

void pg_session::reset() noexcept {
  conn_.reset();
}

} // namespace expd::runtime
