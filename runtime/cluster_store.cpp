#include "runtime/cluster_store.hpp"

#include <thread>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

namespace expd::runtime {

namespace {

std::string interval_of(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " milliseconds";
}

constexpr const char* live = "state NOT IN ('down', 'left') AND lease_until > now()";

} // namespace

cluster_store::cluster_store(std::string pg_url, std::chrono::milliseconds lease)
  : session_(std::move(pg_url)), lease_(lease) {
}

std::int64_t cluster_store::join(const node_identity& me, std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto& conn = session_.get();
    pqxx::work tx{conn};
    auto other = tx.exec_params(std::string{"SELECT name, protocol FROM exp.cluster_nodes WHERE "}
                                  + live + " AND protocol <> $1 AND name <> $2 LIMIT 1",
                                me.protocol, me.name);
    if (!other.empty())
      throw cluster_error("node " + other[0][0].as<std::string>() + " speaks cluster protocol "
                          + other[0][1].as<std::string>() + " and this build speaks "
                          + std::to_string(me.protocol)
                          + ": upgrade every node of the cluster to one build");
    auto claimed = tx.exec_params(
      "INSERT INTO exp.cluster_nodes AS n (name, cluster_address, http_address, build_version,"
      "  protocol, state, incarnation, lease_until)"
      " VALUES ($1, $2, $3, $4, $5, 'joining', nextval('exp.cluster_incarnations'),"
      "  now() + $6::interval)"
      " ON CONFLICT (name) DO UPDATE SET cluster_address = EXCLUDED.cluster_address,"
      "  http_address = EXCLUDED.http_address, build_version = EXCLUDED.build_version,"
      "  protocol = EXCLUDED.protocol, state = 'joining', incarnation = EXCLUDED.incarnation,"
      "  lease_until = EXCLUDED.lease_until, released_ring = 0, stats = '{}',"
      "  started_at = now(), updated_at = now()"
      " WHERE n.state IN ('down', 'left') OR n.lease_until <= now()"
      " RETURNING incarnation",
      me.name, me.cluster_address, me.http_address, me.build_version, me.protocol,
      interval_of(lease_));
    if (!claimed.empty()) {
      tx.commit();
      return claimed[0][0].as<std::int64_t>();
    }
    auto holder = tx.exec_params("SELECT cluster_address, state,"
                                 " extract(epoch FROM lease_until - now())"
                                 " FROM exp.cluster_nodes WHERE name = $1",
                                 me.name);
    tx.abort();
    auto address = holder.empty() ? std::string{} : holder[0][0].as<std::string>();
    if (address != me.cluster_address)
      throw cluster_error("node name " + me.name + " belongs to a live node at " + address
                          + " (state " + (holder.empty() ? "" : holder[0][1].as<std::string>())
                          + "): give this node another --node-name, or stop that one");
    if (std::chrono::steady_clock::now() > deadline)
      throw cluster_error("node name " + me.name + " at " + address
                          + " is still held by a live process: stop it first");
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
}

std::optional<std::string> cluster_store::renew(const std::string& name,
                                                std::int64_t incarnation,
                                                const std::string& stats) {
  return with_reconnect(session_, [&](pqxx::connection& conn) -> std::optional<std::string> {
    pqxx::work tx{conn};
    auto r = tx.exec_params("UPDATE exp.cluster_nodes SET lease_until = now() + $3::interval,"
                            " stats = $4::jsonb || jsonb_build_object('reported_at',"
                            "   to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')),"
                            " updated_at = now()"
                            " WHERE name = $1 AND incarnation = $2 AND state <> 'down'"
                            " RETURNING state",
                            name, incarnation, interval_of(lease_), stats);
    tx.commit();
    if (r.empty())
      return std::nullopt;
    return r[0][0].as<std::string>();
  });
}

std::optional<std::string> cluster_store::change_node(const std::string& name,
                                                      const char* statement) {
  return with_reconnect(session_, [&](pqxx::connection& conn) -> std::optional<std::string> {
    pqxx::work tx{conn};
    auto before = tx.exec_params("SELECT state FROM exp.cluster_nodes WHERE name = $1 FOR UPDATE",
                                 name);
    if (before.empty())
      return std::nullopt;
    tx.exec_params(statement, name);
    tx.exec("NOTIFY expd_cluster, 'nodes'");
    tx.commit();
    return before[0][0].as<std::string>();
  });
}

std::optional<std::string> cluster_store::drain(const std::string& name) {
  return change_node(name, "UPDATE exp.cluster_nodes SET state = 'draining', updated_at = now()"
                           " WHERE name = $1 AND state = 'up'");
}

std::optional<std::string> cluster_store::forget(const std::string& name) {
  return change_node(name, "DELETE FROM exp.cluster_nodes WHERE name = $1"
                           " AND state IN ('down', 'left')");
}

std::string cluster_store::cluster_id() {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    return tx.exec("SELECT cluster_id FROM exp.cluster_ring")[0][0].as<std::string>();
  });
}

bool cluster_store::set_state(const std::string& name, std::int64_t incarnation,
                              const std::string& state) {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    auto r = tx.exec_params("UPDATE exp.cluster_nodes SET state = $3, updated_at = now()"
                            " WHERE name = $1 AND incarnation = $2 AND state <> 'down'",
                            name, incarnation, state);
    tx.commit();
    return r.affected_rows() == 1;
  });
}

void cluster_store::release(const std::string& name, std::int64_t incarnation,
                            std::int64_t version) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec_params("UPDATE exp.cluster_nodes SET released_ring = greatest(released_ring, $3)"
                   " WHERE name = $1 AND incarnation = $2",
                   name, incarnation, version);
    tx.exec("NOTIFY expd_cluster, 'released'");
    tx.commit();
  });
}

cluster_ring_row cluster_store::reconcile() {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    // The lock first, then fresh statements: under READ COMMITTED each one sees what
    // a reconcile that held the lock before committed, so two never undo each other.
    tx.exec("SELECT version FROM exp.cluster_ring FOR UPDATE");
    tx.exec("UPDATE exp.cluster_nodes SET state = 'down', updated_at = now()"
            " WHERE state IN ('joining', 'up', 'draining') AND lease_until <= now()");
    auto changed = tx.exec(
      "WITH up AS (SELECT coalesce(array_agg(name ORDER BY name), '{}') AS members"
      "  FROM exp.cluster_nodes WHERE state = 'up')"
      " UPDATE exp.cluster_ring r SET version = r.version + 1, members = up.members,"
      "  changed_at = now() FROM up WHERE r.members IS DISTINCT FROM up.members"
      " RETURNING r.version");
    if (!changed.empty())
      tx.exec("NOTIFY expd_cluster, 'ring'");
    auto row = tx.exec("SELECT version, array_to_json(members)::text FROM exp.cluster_ring");
    tx.commit();
    cluster_ring_row ring;
    ring.version = row[0][0].as<std::int64_t>();
    ring.members = nlohmann::json::parse(row[0][1].c_str()).get<std::vector<std::string>>();
    return ring;
  });
}

std::vector<cluster_node_row> cluster_store::nodes() {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec("SELECT name, cluster_address, http_address, build_version, protocol,"
                        " state, incarnation, released_ring,"
                        " extract(epoch FROM lease_until - now()), stats::text,"
                        " to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
                        " extract(epoch FROM now() - (stats->>'reported_at')::timestamptz)"
                        " FROM exp.cluster_nodes ORDER BY name");
    std::vector<cluster_node_row> out;
    for (auto row : rows) {
      cluster_node_row n;
      n.node = {row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                row[3].as<std::string>(), row[4].as<int>()};
      n.state = row[5].as<std::string>();
      n.incarnation = row[6].as<std::int64_t>();
      n.released_ring = row[7].as<std::int64_t>();
      n.lease_left_seconds = row[8].as<double>();
      n.stats_json = row[9].as<std::string>();
      n.started_at = row[10].as<std::string>();
      if (!row[11].is_null())
        n.stats_age_seconds = row[11].as<double>();
      out.push_back(std::move(n));
    }
    return out;
  });
}

} // namespace expd::runtime
