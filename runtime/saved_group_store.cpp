#include "runtime/saved_group_store.hpp"

#include <optional>

#include <pqxx/pqxx>

namespace expd::runtime {

saved_group_store::saved_group_store(std::string pg_url) : session_(std::move(pg_url)) {
}

std::vector<core::saved_group_spec> saved_group_store::load() {
  return with_reconnect(session_, [](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::vector<core::saved_group_spec> out;
    for (auto row : tx.exec("SELECT name, description, attribute_key, id_values::text, condition::text"
                            " FROM exp.saved_groups ORDER BY name")) {
      core::saved_group_spec g;
      g.name = row[0].as<std::string>();
      g.description = row[1].as<std::string>();
      if (row[4].is_null()) {
        g.attribute_key = row[2].as<std::string>();
        g.values = nlohmann::json::parse(row[3].as<std::string>());
      } else {
        g.condition = nlohmann::json::parse(row[4].as<std::string>());
      }
      out.push_back(std::move(g));
    }
    return out;
  });
}

void saved_group_store::apply(const std::vector<core::saved_group_spec>& groups) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    for (auto& g : groups) {
      std::optional<std::string> key, values, condition;
      if (g.is_list()) {
        key = g.attribute_key;
        values = g.values.dump();
      } else {
        condition = g.condition.dump();
      }
      tx.exec_params("INSERT INTO exp.saved_groups (name, description, attribute_key, id_values, condition)"
                     " VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)"
                     " ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description,"
                     "  attribute_key = EXCLUDED.attribute_key, id_values = EXCLUDED.id_values,"
                     "  condition = EXCLUDED.condition, updated_at = now()",
                     g.name, g.description, key, values, condition);
    }
    tx.commit();
  });
}

bool saved_group_store::remove(const std::string& name) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    auto gone = tx.exec_params("DELETE FROM exp.saved_groups WHERE name = $1 RETURNING id", name);
    tx.commit();
    return !gone.empty();
  });
}

} // namespace expd::runtime
