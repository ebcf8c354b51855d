#include "runtime/migrations.hpp"

#include <cstdio>
#include <stdexcept>

#include <pqxx/pqxx>
#include <xxhash.h>

namespace expd::runtime {

namespace {

// Fixed key of the advisory lock that serialises migrations across nodes.
constexpr long long migration_lock_key = 0x65787064; // "expd"

std::string checksum(const std::string& sql) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx",
                static_cast<unsigned long long>(XXH64(sql.data(), sql.size(), 0)));
  return buf;
}

} // namespace

std::vector<int> migrate(const std::string& pg_url, const std::vector<migration>& migrations) {
  pqxx::connection conn{pg_url};
  {
    pqxx::nontransaction tx{conn};
    tx.exec("SELECT pg_advisory_lock(" + std::to_string(migration_lock_key) + ")");
    tx.exec("CREATE SCHEMA IF NOT EXISTS exp");
    tx.exec("CREATE TABLE IF NOT EXISTS exp.schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())");
  }
  // The lock is session-level: closing the connection on return or throw releases it.
  std::vector<int> applied;
  for (auto& m : migrations) {
    pqxx::work tx{conn};
    auto sum = checksum(m.sql);
    auto row = tx.exec_params("SELECT checksum FROM exp.schema_migrations WHERE version = $1",
                              m.version);
    if (!row.empty()) {
      if (row[0][0].as<std::string>() != sum)
        throw std::runtime_error("migration " + m.name
                                 + " changed after it was applied; add a new one instead");
      continue;
    }
    tx.exec(m.sql);
    tx.exec_params("INSERT INTO exp.schema_migrations (version, name, checksum)"
                   " VALUES ($1, $2, $3)",
                   m.version, m.name, sum);
    tx.commit();
    applied.push_back(m.version);
  }
  return applied;
}

} // namespace expd::runtime
