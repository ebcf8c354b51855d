#pragma once

#include <memory>
#include <string>

#include <pqxx/connection>
#include <pqxx/except>

namespace expd::runtime {

/// One PostgreSQL connection that reconnects on the next use after it broke, so a
/// database restart costs the failed call, not the actor. Blocking: only detached
/// actors hold one.
class pg_session {
public:
  explicit pg_session(std::string url);

  /// The live connection, reconnecting first when needed. Throws pqxx::broken_connection.
  pqxx::connection& get();

  /// Forgets the connection after an error so the next get() reconnects.
  void reset() noexcept;

  const std::string& url() const noexcept {
    return url_;
  }

private:
  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
};

} // namespace expd::runtime

namespace expd::runtime {

/// Runs `fn(connection)`; when the connection had broken, once more on a new one.
template <class F>
auto with_reconnect(pg_session& session, F&& fn) {
  try {
    return fn(session.get());
  } catch (const pqxx::broken_connection&) {
    session.reset();
    return fn(session.get());
  }
}

} // namespace expd::runtime
