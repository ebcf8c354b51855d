#include "actors/ingestion/archiver.hpp"

#include <algorithm>
#include <optional>

#include <nlohmann/json.hpp>
#include <zstd.h>

#include "actors/wake_once.hpp"
#include "core/sigv4.hpp"
#include "core/spool_record.hpp"
#include "runtime/failpoint.hpp"
#include "runtime/log.hpp"

namespace expd {

namespace {

using self_ptr = archiver_actor::stateful_pointer<archiver_state>;
using nlohmann::json;
using runtime::log;
using runtime::log_level;

void schedule_tick(self_ptr self, std::chrono::milliseconds delay) {
  wake_once<archiver_actor>(self, self->state.tick_scheduled, delay, atom::tick::value);
}

std::string compress(const std::string& text, int level) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  auto n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), level);
  if (ZSTD_isError(n))
    throw std::runtime_error(std::string{"zstd: "} + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

// The manifest key a chunk's intent names; nullopt for an intent that names none.
std::optional<std::string> intended_manifest(const json& intent, const core::uuid& spool) {
  auto seq = [&](const char* name) -> std::optional<std::uint64_t> {
    if (!intent.contains(name) || !intent[name].is_number_unsigned())
      return std::nullopt;
    return intent[name].get<std::uint64_t>();
  };
  auto first = seq("first_seq"), last = seq("last_seq");
  if (!first || !last)
    return std::nullopt;
  return core::archive_manifest_key(spool, *first, *last);
}

// Where the last run stopped: the newest manifest. A chunk it left half-written (its
// intent there, its manifest not) is removed first, so writing it again leaves no
// stray file. An intent beside its manifest is a chunk that was finished: a crash
// came before the intent was removed, and only the intent goes.
void recover(self_ptr self) {
  auto& st = self->state;
  auto pending_key = core::archive_pending_key(st.cfg.spool_id);
  if (auto pending = st.store->get(pending_key)) {
    auto intent = json::parse(*pending, nullptr, false);
    auto manifest = intent.is_object() ? intended_manifest(intent, st.cfg.spool_id) : std::nullopt;
    if (manifest && st.store->get(*manifest)) {
      log(log_level::info, "archive_chunk_was_complete", {{"manifest", *manifest}});
    } else {
      if (intent.is_object() && intent.contains("keys") && intent["keys"].is_array())
        for (auto& key : intent["keys"])
          if (key.is_string())
            st.store->remove(key.get<std::string>());
      log(log_level::warn, "archive_chunk_rolled_back", {{"intent", intent}});
    }
    st.store->remove(pending_key);
  }
  st.archived = 0;
  for (auto& key : st.store->list(core::archive_manifest_prefix(st.cfg.spool_id)))
    if (auto last = core::manifest_last_seq(key, st.cfg.spool_id))
      st.archived = std::max(st.archived, *last);
  st.recovered = true;
  log(log_level::info, "archive_resumed",
      {{"store", st.store->describe()}, {"archived_seq", st.archived}});
  // The spool may release what this archive already holds.
  if (st.writer)
    self->send(st.writer, atom::consumed::value, spool_consumer::archiver, st.archived);
}

// Reads loaded records after the chunk (or the archive's end) into the chunk.
void gather(self_ptr self) {
  auto& st = self->state;
  if (auto first = st.reader->first_available(); st.chunk.empty() && first > st.archived + 1) {
    // Released before this archive knew of them (archiving newly turned on, or a new
    // bucket): they are in PostgreSQL, not here; start at what the spool still holds.
    log(log_level::warn, "archive_starts_mid_spool",
        {{"archived_seq", st.archived}, {"first_in_spool", first}});
    st.archived = first - 1;
  }
  auto after = st.chunk.empty() ? st.archived : st.chunk.last_seq();
  if (after >= st.loaded || st.chunk.events() >= st.cfg.max_events
      || st.chunk.bytes() >= st.cfg.max_bytes)
    return;
  auto room = st.cfg.max_events - st.chunk.events();
  auto through = std::min<std::uint64_t>(st.loaded, after + room);
  auto skipped = st.events->skipped(st.cfg.spool_id, after, through);
  if (st.chunk.empty())
    st.chunk_started = std::chrono::steady_clock::now();
  st.reader->read(after, through, room, [&](std::uint64_t seq, std::string_view payload) {
    auto e = core::read_spooled_event(payload);
    if (!e)
      throw std::runtime_error("spool record " + std::to_string(seq) + " is not an event");
    st.chunk.add(seq, e->occurred_at, e->json_line, skipped.count(seq) != 0);
  });
}

void write_chunk(self_ptr self) {
  auto& st = self->state;
  auto& chunk = st.chunk;
  json keys = json::array();
  for (auto& [_, file] : chunk.hours())
    keys.push_back(core::archive_data_key(file.hour, st.cfg.spool_id, chunk.first_seq()));
  auto pending_key = core::archive_pending_key(st.cfg.spool_id);
  st.store->put(pending_key, json{{"first_seq", chunk.first_seq()},
                                  {"last_seq", chunk.last_seq()},
                                  {"keys", keys}}
                               .dump());
  runtime::failpoint("archiver.after_intent");
  std::vector<json> files;
  std::size_t i = 0;
  for (auto& [_, file] : chunk.hours()) {
    auto body = compress(file.lines, st.cfg.zstd_level);
    auto key = keys[i++].get<std::string>();
    st.store->put(key, body);
    files.push_back({{"key", key},
                     {"events", file.events},
                     {"bytes", body.size()},
                     {"sha256", core::sha256_hex(body)},
                     {"min_timestamp", core::format_rfc3339(file.min_time)},
                     {"max_timestamp", core::format_rfc3339(file.max_time)}});
    st.bytes_written += body.size();
  }
  runtime::failpoint("archiver.after_data");
  st.store->put(core::archive_manifest_key(st.cfg.spool_id, chunk.first_seq(), chunk.last_seq()),
                chunk.manifest(st.cfg.spool_id, files).dump(2));
  runtime::failpoint("archiver.after_manifest");
  st.store->remove(pending_key);
  st.archived = chunk.last_seq();
  st.files += files.size();
  ++st.chunks;
  st.events_archived += chunk.events();
  chunk.clear();
  if (st.writer)
    self->send(st.writer, atom::consumed::value, spool_consumer::archiver, st.archived);
}

void step(self_ptr self) {
  auto& st = self->state;
  if (!st.recovered)
    recover(self);
  gather(self);
  if (st.chunk.empty())
    return;
  auto age = std::chrono::steady_clock::now() - st.chunk_started;
  bool full = st.chunk.events() >= st.cfg.max_events || st.chunk.bytes() >= st.cfg.max_bytes;
  if (full || age >= st.cfg.interval) {
    write_chunk(self);
    if (st.archived < st.loaded)
      schedule_tick(self, std::chrono::milliseconds{0});
  } else {
    schedule_tick(self, std::chrono::duration_cast<std::chrono::milliseconds>(st.cfg.interval - age)
                          + std::chrono::milliseconds{1});
  }
}

} // namespace

archiver_actor::behavior_type archiver(archiver_actor::stateful_pointer<archiver_state> self,
                                       archiver_config cfg) {
  auto& st = self->state;
  st.store = runtime::open_object_store(cfg.store_url);
  st.reader = std::make_unique<runtime::spool_reader>(cfg.spool_dir);
  st.events = std::make_unique<runtime::event_store>(cfg.pg_url);
  st.cfg = std::move(cfg);
  return {
    [=](atom::spooled, std::uint64_t loaded) {
      auto& st = self->state;
      st.loaded = std::max(st.loaded, loaded);
      if (st.backoff.count() == 0)
        schedule_tick(self, std::chrono::milliseconds{0});
    },
    [=](atom::tick) {
      auto& st = self->state;
      st.tick_scheduled = false;
      try {
        step(self);
        st.backoff = std::chrono::milliseconds{0};
      } catch (const std::exception& e) {
        // The chunk is gathered again from the spool on the next try.
        st.chunk.clear();
        st.recovered = false;
        ++st.failures;
        st.backoff = std::min(std::max(st.backoff * 2, std::chrono::milliseconds{500}),
                              std::chrono::milliseconds{30000});
        log(log_level::error, "archive_failed",
            {{"error", e.what()}, {"retry_ms", st.backoff.count()}});
        schedule_tick(self, st.backoff);
      }
    },
    [=](atom::subscribe, spool_writer_actor& writer) {
      auto& st = self->state;
      st.writer = std::move(writer);
      // Recovery at start, not at the first new event: its progress reaches the
      // spool's gauges and what an earlier run left is archived at once.
      if (st.recovered)
        self->send(st.writer, atom::consumed::value, spool_consumer::archiver, st.archived);
      else if (st.backoff.count() == 0)
        schedule_tick(self, std::chrono::milliseconds{0});
    },
    [=](atom::status) -> status_record {
      auto& st = self->state;
      return {"archiver",
              {{"expd_archive_files_total", "counter", "Archive files written.", "",
                static_cast<double>(st.files)},
               {"expd_archive_chunks_total", "counter", "Archive chunks (manifests) written.", "",
                static_cast<double>(st.chunks)},
               {"expd_archive_events_total", "counter", "Events written to the archive.", "",
                static_cast<double>(st.events_archived)},
               {"expd_archive_bytes_total", "counter", "Compressed bytes written to the archive.",
                "", static_cast<double>(st.bytes_written)},
               {"expd_archive_failures_total", "counter", "Failed archive writes.", "",
                static_cast<double>(st.failures)},
               {"expd_archive_lag_events", "gauge",
                "Events in PostgreSQL not yet in the archive (the archiver's queue depth).", "",
                static_cast<double>(st.loaded - std::min(st.archived, st.loaded))}}};
    },
  };
}

} // namespace expd
