#include "runtime/event_store.hpp"

#include "runtime/failpoint.hpp"

#include <unordered_set>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>

namespace expd::runtime {

namespace {

constexpr std::int64_t micros_per_day = 86400LL * 1000000;

std::int64_t day_of(core::unix_micros t) {
  return t >= 0 ? t / micros_per_day : (t - micros_per_day + 1) / micros_per_day;
}

std::string date_text(std::int64_t day) {
  auto h = core::utc_hour_of(day * micros_per_day);
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", h.year, h.month, h.day);
  return buf;
}

struct id_at_hash {
  std::size_t operator()(const std::pair<core::uuid, core::unix_micros>& k) const noexcept {
    return std::hash<core::uuid>{}(k.first) ^ static_cast<std::size_t>(k.second);
  }
};
using id_at_set = std::unordered_set<std::pair<core::uuid, core::unix_micros>, id_at_hash>;

// Which of the batch's client-chosen ids the table already holds. Server-made ids are
// new by construction and the cursor commits with the rows, so only a client's retry
// can repeat an event.
id_at_set stored_already(pqxx::work& tx, const std::vector<core::spooled_event>& events) {
  std::string ids = "{", times = "{";
  for (auto& e : events) {
    if (!e.client_event_id)
      continue;
    if (ids.size() > 1) {
      ids += ',';
      times += ',';
    }
    ids += e.event_id.str();
    times += '"' + core::format_rfc3339(e.occurred_at) + '"';
  }
  id_at_set found;
  if (ids.size() == 1)
    return found;
  ids += '}';
  times += '}';
  auto rows = tx.exec_params(
    "SELECT e.event_id::text, (extract(epoch FROM e.occurred_at) * 1000000)::bigint"
    " FROM unnest($1::uuid[], $2::timestamptz[]) AS k(id, at)"
    " JOIN exp.events e ON e.event_id = k.id AND e.occurred_at = k.at",
    ids, times);
  for (auto row : rows)
    found.emplace(*core::uuid::parse(row[0].c_str()), row[1].as<std::int64_t>());
  return found;
}

} // namespace

event_store::event_store(std::string pg_url) : session_(std::move(pg_url)) {
}

template <class F>
auto event_store::with_retry(F&& fn) {
  try {
    return fn(session_.get());
  } catch (const pqxx::broken_connection&) {
    session_.reset();
    return fn(session_.get());
  }
}

event_store::partition_pass event_store::prepare_partitions(core::unix_micros from,
                                                            core::unix_micros to,
                                                            std::chrono::milliseconds lock_timeout) {
  partition_pass pass;
  for (auto d = day_of(from); d <= day_of(to); ++d) {
    if (days_ready_.count(d) != 0)
      continue;
    try {
      auto outcome = with_retry([&](pqxx::connection& conn) {
        pqxx::work tx{conn};
        tx.exec("SET LOCAL lock_timeout = " + std::to_string(lock_timeout.count()));
        auto r = tx.exec_params1("SELECT exp.attach_event_partition($1::date)", date_text(d))[0]
                   .as<std::string>();
        tx.commit();
        return r;
      });
      pass.created += outcome == "created" ? 1 : 0;
      pass.in_default += outcome == "default_holds_rows" ? 1 : 0;
      days_ready_.insert(d);
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() != "55P03") // lock_not_available
        throw;
      // The same reader holds the next day's locks too: one wait per pass, not one per day.
      pass.waited = static_cast<int>(day_of(to) - d + 1);
      break;
    }
  }
  return pass;
}

std::uint64_t event_store::loaded_seq(const core::uuid& spool) {
  return with_retry([&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    auto rows = tx.exec_params("SELECT loaded_seq FROM exp.ingest_cursors WHERE spool_id = $1",
                               spool.str());
    return rows.empty() ? std::uint64_t{0} : rows[0][0].as<std::uint64_t>();
  });
}

event_load_result event_store::load(const core::uuid& spool, const event_load_batch& batch) {
  event_load_result result;
  if (batch.seqs.empty())
    return result;
  std::vector<core::spooled_event> events;
  events.reserve(batch.payloads.size());
  for (std::size_t i = 0; i < batch.payloads.size(); ++i) {
    auto e = core::read_spooled_event(batch.payloads[i]);
    if (!e)
      throw std::runtime_error("spool record " + std::to_string(batch.seqs[i])
                               + " is not an event");
    events.push_back(*e);
  }
  auto last_seq = batch.seqs.back();
  // Optimistic first: client retries are rare, so the batch goes straight to COPY and
  // the key finds them; only a batch the key refuses is loaded again with a lookup of
  // its client ids first.
  auto attempt = [&](bool look_up) {
    return with_retry([&](pqxx::connection& conn) {
    event_load_result r;
    pqxx::work tx{conn};
    // Locks the cursor row: two nodes given the same spool folder cannot both load it.
    tx.exec_params("INSERT INTO exp.ingest_cursors (spool_id, loaded_seq) VALUES ($1, 0)"
                   " ON CONFLICT (spool_id) DO NOTHING",
                   spool.str());
    auto loaded = tx.exec_params1("SELECT loaded_seq FROM exp.ingest_cursors"
                                  " WHERE spool_id = $1 FOR UPDATE",
                                  spool.str())[0]
                    .as<std::uint64_t>();
    if (loaded >= last_seq) {
      r.already_loaded = true;
      return r;
    }
    auto held = look_up ? stored_already(tx, events) : id_at_set{};
    id_at_set seen;
    std::vector<std::pair<std::uint64_t, core::uuid>> skipped;
    {
      // The lines are COPY text already (core::append_copy_line); libpqxx 6 takes raw
      // lines only through tablewriter, which it marks deprecated in favour of a
      // stream_to that has no public raw-line call until version 7.
      static const std::vector<std::string> columns{
        "event_id",       "occurred_at", "received_at", "event_type", "unit_type",
        "unit_id",        "experiment_ids", "variant_ids", "context",  "metrics"};
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
      pqxx::tablewriter copy{tx, "exp.events", columns.begin(), columns.end()};
#pragma GCC diagnostic pop
      std::string line;
      for (std::size_t i = 0; i < events.size(); ++i) {
        auto& e = events[i];
        if (batch.seqs[i] <= loaded)
          continue;
        std::pair key{e.event_id, e.occurred_at};
        if (held.count(key) != 0 || !seen.insert(key).second) {
          skipped.emplace_back(batch.seqs[i], e.event_id);
          continue;
        }
        line.assign(e.copy_line.data(), e.copy_line.size() - 1); // stream_to adds the '\n'
        copy.write_raw_line(line);
        ++r.stored;
      }
      copy.complete();
    }
    if (!skipped.empty()) {
      std::string seqs = "{", ids = "{";
      for (auto& [seq, id] : skipped) {
        if (seqs.size() > 1) {
          seqs += ',';
          ids += ',';
        }
        seqs += std::to_string(seq);
        ids += id.str();
        r.skipped.push_back(seq);
      }
      tx.exec_params("INSERT INTO exp.ingest_skipped (spool_id, seq, event_id)"
                     " SELECT $1, s, i FROM unnest($2::bigint[], $3::uuid[]) AS k(s, i)"
                     " ON CONFLICT DO NOTHING",
                     spool.str(), seqs + '}', ids + '}');
    }
    tx.exec_params("UPDATE exp.ingest_cursors SET loaded_seq = $2, updated_at = now()"
                   " WHERE spool_id = $1",
                   spool.str(), last_seq);
    failpoint("loader.before_commit");
    tx.commit();
    return r;
    });
  };
  try {
    return attempt(false);
  } catch (const pqxx::unique_violation&) {
    return attempt(true);
  }
}

std::set<std::uint64_t> event_store::skipped(const core::uuid& spool, std::uint64_t after,
                                             std::uint64_t through) {
  return with_retry([&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::set<std::uint64_t> out;
    for (auto row : tx.exec_params("SELECT seq FROM exp.ingest_skipped WHERE spool_id = $1"
                                   " AND seq > $2 AND seq <= $3",
                                   spool.str(), after, through))
      out.insert(row[0].as<std::uint64_t>());
    return out;
  });
}

std::string event_store::query_json(const core::event_query& q) {
  return with_retry([&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    std::string where = "occurred_at > $1::timestamptz AND (occurred_at, event_id) < ($2::timestamptz, $3::uuid)";
    std::string filter_value;
    if (q.experiment_id) {
      where += " AND experiment_ids @> ARRAY[$4::uuid]";
      filter_value = q.experiment_id->str();
    } else {
      where += " AND unit_id = $4";
      filter_value = q.unit_id;
    }
    if (!q.event_type.empty())
      where += " AND event_type = $5";
    else
      where += " AND $5 = ''";
    auto sql =
      "SELECT COALESCE(json_agg(json_build_object("
      " 'event_id', event_id, 'event_type', event_type, 'unit_type', unit_type,"
      " 'unit_id', unit_id, 'experiments', (SELECT COALESCE(json_agg(json_build_object("
      "   'experiment_id', x, 'variant_id', y)), '[]') FROM unnest(experiment_ids, variant_ids) u(x, y)),"
      " 'context', context, 'metrics', metrics,"
      " 'timestamp', to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
      " 'received_at', to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))"
      " ORDER BY occurred_at DESC, event_id DESC), '[]')::text,"
      " count(*), min((extract(epoch FROM occurred_at) * 1000000)::bigint),"
      " (array_agg(event_id::text ORDER BY occurred_at, event_id))[1]"
      " FROM (SELECT * FROM exp.events WHERE " + where
      + " ORDER BY occurred_at DESC, event_id DESC LIMIT " + std::to_string(q.limit) + ") e";
    auto row = tx.exec_params1(sql, core::format_rfc3339(q.before - q.window),
                               core::format_rfc3339(q.before), q.before_id.str(), filter_value,
                               q.event_type);
    std::string out = R"({"events":)" + row[0].as<std::string>() + R"(,"next":)";
    if (row[1].as<std::size_t>() == q.limit)
      out += '"' + std::to_string(row[2].as<std::int64_t>()) + '_' + row[3].as<std::string>() + '"';
    else
      out += "null";
    return out + '}';
  });
}

std::vector<core::event_type> event_store::load_event_types() {
  return with_retry([](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    nlohmann::json doc = {{"event_types", nlohmann::json::array()}};
    for (auto row : tx.exec("SELECT name, description, metrics::text FROM exp.event_types"))
      doc["event_types"].push_back({{"name", row[0].as<std::string>()},
                                    {"description", row[1].as<std::string>()},
                                    {"metrics", nlohmann::json::parse(row[2].as<std::string>())}});
    return core::parse_event_type_document(doc);
  });
}

void event_store::apply_event_types(const std::vector<core::event_type>& types) {
  with_retry([&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    for (auto& t : types)
      tx.exec_params("INSERT INTO exp.event_types (name, description, metrics)"
                     " VALUES ($1, $2, $3::jsonb) ON CONFLICT (name) DO UPDATE SET"
                     " description = EXCLUDED.description, metrics = EXCLUDED.metrics,"
                     " updated_at = now()"
                     " WHERE (exp.event_types.description, exp.event_types.metrics)"
                     "  IS DISTINCT FROM (EXCLUDED.description, EXCLUDED.metrics)",
                     t.name, t.description, core::metrics_to_json(t).dump());
    tx.commit();
    return 0;
  });
}

void event_store::ping() {
  with_retry([](pqxx::connection& conn) {
    pqxx::nontransaction tx{conn};
    tx.exec("SELECT 1");
    return 0;
  });
}

} // namespace expd::runtime
