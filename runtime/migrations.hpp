#pragma once

#include <string>
#include <vector>

namespace expd::runtime {

/// One numbered schema change from sql/NNN_name.sql.
struct migration {
  int version;
  std::string name;
  std::string sql;
};

/// sql/ as compiled into the binary, in version order.
const std::vector<migration>& embedded_migrations();

/// Applies every migration not yet recorded in exp.schema_migrations, each in its own
/// transaction, under an advisory lock so two nodes starting together do not race.
/// A recorded migration whose text has changed since is an error: schema history is
/// append-only. Returns the versions applied now (empty when up to date).
std::vector<int> migrate(const std::string& pg_url,
                         const std::vector<migration>& migrations = embedded_migrations());

} // namespace expd::runtime
