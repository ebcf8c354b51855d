#include "runtime/parquet_dataset.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <optional>
#include <string_view>

#include <cstdio>
#include <fstream>

#include <fcntl.h>
#include <unistd.h>

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>
#include <xxhash.h>

namespace expd::runtime {

namespace {

namespace fs = std::filesystem;

// A row group is what a reader decodes at once (and may skip or hand to a thread):
// 16k rows of a few KB of text or tokens each keep one in the tens of MB.
constexpr std::int64_t rows_per_group = 16384;

// pyarrow stores the Arrow schema in the file's metadata; it is Arrow's, not the dataset's.
constexpr std::string_view arrow_schema_key = "ARROW:schema";

std::string in_quotes(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

// Arrow's message on one line (a few span several), for a fault message that names
// the file.
std::string one_line(const arrow::Status& status) {
  auto text = status.message();
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ')
    text.pop_back();
  return text;
}

// One Parquet file open for reading, with its Arrow schema.
struct parquet_file {
  std::string path;
  std::unique_ptr<parquet::arrow::FileReader> reader;
  std::shared_ptr<arrow::Schema> schema;
};

parquet_file open_parquet(const std::string& path) {
  auto input = arrow::io::ReadableFile::Open(path);
  if (!input.ok())
    throw dataset_error(path, "", "cannot be opened: " + one_line(input.status()));
  auto reader = parquet::arrow::OpenFile(*input, arrow::default_memory_pool());
  if (!reader.ok())
    throw dataset_error(path, "", "is not a readable Parquet file: " + one_line(reader.status()));
  parquet_file file{path, std::move(*reader), nullptr};
  if (auto status = file.reader->GetSchema(&file.schema); !status.ok())
    throw dataset_error(path, "", "has a schema Arrow cannot read: " + one_line(status));
  return file;
}

// The index of `column` among the file's top-level fields, or nothing without it.
std::optional<int> find_column(const parquet_file& file, const std::string& column) {
  const auto indices = file.schema->GetAllFieldIndices(column);
  if (indices.size() > 1)
    throw dataset_error(file.path, column, "appears " + std::to_string(indices.size()) + " times");
  if (indices.empty())
    return std::nullopt;
  return indices[0];
}

int require_column(const parquet_file& file, const std::string& column, const std::string& why) {
  const auto index = find_column(file, column);
  if (!index)
    throw dataset_error(file.path, column, "missing: " + why);
  return *index;
}

std::shared_ptr<arrow::ChunkedArray> read_column(const parquet_file& file, int index) {
  std::shared_ptr<arrow::ChunkedArray> values;
  if (auto status = file.reader->ReadColumn(index, &values); !status.ok())
    throw dataset_error(file.path, file.schema->field(index)->name(), "cannot be read: " + one_line(status));
  return values;
}

[[noreturn]] void refuse_type(const parquet_file& file, int index, const std::string& wanted) {
  const auto& field = file.schema->field(index);
  throw dataset_error(file.path, field->name(), "has type " + field->type()->ToString() + ", not " + wanted);
}

[[noreturn]] void refuse_null(const parquet_file& file, const std::string& column, std::size_t row) {
  throw dataset_error(file.path, column, "null in row " + std::to_string(row) + " (rows count from 0)");
}

bool holds_strings(const arrow::DataType& type) {
  switch (type.id()) {
  case arrow::Type::STRING:
  case arrow::Type::LARGE_STRING:
  case arrow::Type::STRING_VIEW:
    return true;
  case arrow::Type::DICTIONARY:
    return holds_strings(*static_cast<const arrow::DictionaryType&>(type).value_type());
  default:
    return false;
  }
}

// Row `i` of an array whose type holds_strings accepts; nothing for a null.
std::optional<std::string_view> string_at(const arrow::Array& array, std::int64_t i) {
  if (array.IsNull(i))
    return std::nullopt;
  switch (array.type_id()) {
  case arrow::Type::STRING:
    return static_cast<const arrow::StringArray&>(array).GetView(i);
  case arrow::Type::LARGE_STRING:
    return static_cast<const arrow::LargeStringArray&>(array).GetView(i);
  case arrow::Type::STRING_VIEW:
    return static_cast<const arrow::StringViewArray&>(array).GetView(i);
  default: {
    const auto& dictionary = static_cast<const arrow::DictionaryArray&>(array);
    return string_at(*dictionary.dictionary(), dictionary.GetValueIndex(i));
  }
  }
}

std::vector<std::string> read_strings(const parquet_file& file, int index) {
  const auto& column = file.schema->field(index)->name();
  if (!holds_strings(*file.schema->field(index)->type()))
    refuse_type(file, index, "a string (utf8, large_utf8, or a dictionary of them)");
  const auto chunks = read_column(file, index);
  std::vector<std::string> values;
  values.reserve(static_cast<std::size_t>(chunks->length()));
  for (const auto& chunk : chunks->chunks()) {
    for (std::int64_t i = 0; i < chunk->length(); ++i) {
      const auto value = string_at(*chunk, i);
      if (!value)
        refuse_null(file, column, values.size());
      values.emplace_back(*value);
    }
  }
  return values;
}

void check_split(const std::string& path, const std::vector<std::string>& split) {
  for (std::size_t row = 0; row < split.size(); ++row)
    if (split[row] != "train" && split[row] != "validation")
      throw dataset_error(path, "split", "row " + std::to_string(row) + " holds " + in_quotes(split[row]) +
                                             "; a split is \"train\" or \"validation\"");
}

// The split column of `file`, or every row "train" when it has none.
std::vector<std::string> read_split(const parquet_file& file, std::size_t rows) {
  const auto index = find_column(file, "split");
  if (!index)
    return std::vector<std::string>(rows, "train");
  auto split = read_strings(file, *index);
  check_split(file.path, split);
  return split;
}

template <typename T>
void append(std::vector<T>& to, std::vector<T>&& from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

void check_rows(const std::string& path, const std::string& column, std::size_t rows, std::size_t expected,
                const std::string& first) {
  if (rows != expected)
    throw dataset_error(path, column, "has " + std::to_string(rows) + " rows but " + first + " has " +
                                          std::to_string(expected));
}

// A row's target is input_ids[target_start:], and a row without one trains nothing.
void check_target_start(const std::string& path, std::size_t row, std::int32_t start, std::size_t tokens) {
  if (start < 0 || static_cast<std::size_t>(start) >= tokens)
    throw dataset_error(path, "target_start", "row " + std::to_string(row) + ": " + std::to_string(start) +
                                                  " is outside its " + std::to_string(tokens) +
                                                  " tokens (a row needs a target token)");
}

int sync_folder(const fs::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  const int error = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return error;
}

// A Parquet file being written as a temporary file beside `path`: commit() fsyncs it,
// renames it into place and fsyncs the folder, so `path` is never seen half-written
// and a crash of the machine leaves the old file or the whole new one. Destroyed
// before commit(), it removes the temporary file.
class atomic_parquet_file {
public:
  atomic_parquet_file(std::string path, const arrow::Schema& schema) : path_(std::move(path)) {
    static std::atomic<std::uint64_t> counter{0};
    const fs::path target(path_);
    folder_ = target.has_parent_path() ? target.parent_path() : fs::path(".");
    temp_ = folder_ / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                       std::to_string(counter++));
    const int fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
      throw dataset_error(path_, "", "cannot be written: " + temp_.string() + ": " + std::strerror(errno));
    auto stream = arrow::io::FileOutputStream::Open(fd); // owns fd from here
    if (!stream.ok()) {
      ::close(fd);
      fail(one_line(stream.status()));
    }
    stream_ = *stream;
    const auto properties = parquet::WriterProperties::Builder()
                              .compression(arrow::Compression::ZSTD)
                              ->max_row_group_length(rows_per_group)
                              ->build();
    // Without store_schema Arrow writes no key-value metadata at all, ours included.
    const auto arrow_properties = parquet::ArrowWriterProperties::Builder().store_schema()->build();
    auto writer = parquet::arrow::FileWriter::Open(schema, arrow::default_memory_pool(), stream_, properties,
                                                   arrow_properties);
    if (!writer.ok())
      fail(one_line(writer.status()));
    writer_ = std::move(*writer);
  }

  ~atomic_parquet_file() {
    if (committed_)
      return;
    if (writer_)
      (void)writer_->Close();
    if (stream_ && !stream_->closed())
      (void)stream_->Close();
    std::error_code ignored;
    fs::remove(temp_, ignored);
  }

  atomic_parquet_file(const atomic_parquet_file&) = delete;
  atomic_parquet_file& operator=(const atomic_parquet_file&) = delete;

  void write(const arrow::Table& table) {
    if (auto status = writer_->WriteTable(table, rows_per_group); !status.ok())
      fail(one_line(status));
  }

  void commit() {
    auto status = writer_->Close();
    if (status.ok() && ::fsync(stream_->file_descriptor()) != 0)
      status = arrow::Status::IOError("fsync ", temp_.string(), ": ", std::strerror(errno));
    if (auto closed = stream_->Close(); status.ok())
      status = closed;
    if (!status.ok())
      fail(one_line(status));
    if (::rename(temp_.c_str(), path_.c_str()) != 0)
      fail("rename from " + temp_.string() + ": " + std::strerror(errno));
    committed_ = true;
    if (const int error = sync_folder(folder_))
      throw dataset_error(path_, "", "renamed into place but the folder cannot be fsynced: " +
                                       std::string(std::strerror(error)));
  }

private:
  [[noreturn]] void fail(const std::string& what) const {
    throw dataset_error(path_, "", "cannot be written: " + what);
  }

  std::string path_;
  fs::path folder_;
  fs::path temp_;
  std::shared_ptr<arrow::io::FileOutputStream> stream_;
  std::unique_ptr<parquet::arrow::FileWriter> writer_;
  bool committed_ = false;
};

// Writes `table` to `path` atomically (atomic_parquet_file).
void write_atomically(const std::string& path, const arrow::Table& table) {
  atomic_parquet_file file(path, *table.schema());
  file.write(table);
  file.commit();
}

std::shared_ptr<arrow::KeyValueMetadata> to_arrow(const std::map<std::string, std::string>& metadata) {
  auto arrow_metadata = std::make_shared<arrow::KeyValueMetadata>();
  for (const auto& [key, value] : metadata)
    arrow_metadata->Append(key, value);
  return arrow_metadata;
}

template <typename Builder>
std::shared_ptr<arrow::Array> finish(const std::string& path, const std::string& column, Builder& builder) {
  auto array = builder.Finish();
  if (!array.ok())
    throw dataset_error(path, column, "cannot be built: " + one_line(array.status()));
  return *array;
}

std::shared_ptr<arrow::Array> string_array(const std::string& path, const std::string& column,
                                           const std::vector<std::string>& values) {
  arrow::StringBuilder builder;
  auto status = builder.AppendValues(values);
  if (!status.ok())
    throw dataset_error(path, column, "cannot be built: " + one_line(status));
  return finish(path, column, builder);
}

} // namespace

std::vector<std::string> dataset_files(const std::string& file_or_folder) {
  std::error_code error;
  const auto status = fs::status(file_or_folder, error);
  if (!fs::exists(status))
    throw dataset_error(file_or_folder, "", "does not exist");
  if (!fs::is_directory(status))
    return {file_or_folder};
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(file_or_folder, error)) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() == ".parquet" && name[0] != '.' && name[0] != '_' && entry.is_regular_file())
      files.push_back(entry.path().string());
  }
  if (error)
    throw dataset_error(file_or_folder, "", "cannot be listed: " + error.message());
  if (files.empty())
    throw dataset_error(file_or_folder, "", "is a folder without *.parquet files");
  std::sort(files.begin(), files.end());
  return files;
}

text_rows read_text_dataset(const std::string& file_or_folder) {
  text_rows rows;
  for (const auto& path : dataset_files(file_or_folder)) {
    const auto file = open_parquet(path);
    const std::string why = "a text dataset needs string columns input and target";
    const int input = require_column(file, "input", why);
    const int target = require_column(file, "target", why);
    auto inputs = read_strings(file, input);
    auto targets = read_strings(file, target);
    auto split = read_split(file, inputs.size());
    append(rows.input, std::move(inputs));
    append(rows.target, std::move(targets));
    append(rows.split, std::move(split));
  }
  return rows;
}

void write_text_dataset(const std::string& path, const text_rows& rows,
                        const std::map<std::string, std::string>& metadata) {
  check_rows(path, "target", rows.target.size(), rows.input.size(), "input");
  check_rows(path, "split", rows.split.size(), rows.input.size(), "input");
  check_split(path, rows.split);
  const auto schema = arrow::schema({arrow::field("input", arrow::utf8(), false),
                                     arrow::field("target", arrow::utf8(), false),
                                     arrow::field("split", arrow::utf8(), false)},
                                    to_arrow(metadata));
  const auto table = arrow::Table::Make(schema, {string_array(path, "input", rows.input),
                                                 string_array(path, "target", rows.target),
                                                 string_array(path, "split", rows.split)});
  write_atomically(path, *table);
}

std::string xxh3_of_files(const std::vector<std::string>& files) {
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), &XXH3_freeState);
  XXH3_64bits_reset(state.get());
  std::vector<char> buffer(1 << 20);
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0)
      XXH3_64bits_update(state.get(), buffer.data(), static_cast<std::size_t>(in.gcount()));
    if (!in.eof())
      throw dataset_error(file, "", "cannot be read");
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits_digest(state.get())));
  return hex;
}

struct dataset_writer::impl {
  std::string path;
  std::vector<column_spec> columns;
  std::shared_ptr<arrow::Schema> schema;
  std::vector<std::unique_ptr<arrow::StringBuilder>> texts;        // by column; null for timestamps
  std::vector<std::unique_ptr<arrow::TimestampBuilder>> instants; // by column; null for texts
  std::vector<bool> set;
  std::uint64_t rows = 0;
  std::int64_t pending = 0;
  std::unique_ptr<atomic_parquet_file> file;
  // The row group being encoded and written while the next one fills: compression
  // then overlaps with whatever feeds the rows (a COPY from PostgreSQL).
  std::future<void> writing;

  ~impl() {
    if (writing.valid())
      writing.wait(); // before the file it writes to goes
  }

  void check(std::size_t index, column_type type) {
    if (index >= columns.size() || columns[index].type != type)
      throw dataset_error(path, index < columns.size() ? columns[index].name : "", "not a column of that type");
    if (set[index])
      throw dataset_error(path, columns[index].name, "set twice in row " + std::to_string(rows));
    set[index] = true;
  }

  void check_status(const arrow::Status& status, std::size_t index) {
    if (!status.ok())
      throw dataset_error(path, columns[index].name, "cannot be built: " + one_line(status));
  }

  void flush() {
    if (pending == 0)
      return;
    std::vector<std::shared_ptr<arrow::Array>> arrays;
    for (std::size_t i = 0; i < columns.size(); ++i)
      arrays.push_back(texts[i] ? finish(path, columns[i].name, *texts[i]) : finish(path, columns[i].name, *instants[i]));
    auto table = arrow::Table::Make(schema, arrays, pending);
    pending = 0;
    if (writing.valid())
      writing.get(); // rethrows the previous group's failure
    writing = std::async(std::launch::async, [this, table] { file->write(*table); });
  }

  void finish_writing() {
    flush();
    if (writing.valid())
      writing.get();
  }
};

dataset_writer::dataset_writer(std::string path, std::vector<column_spec> columns,
                               const std::map<std::string, std::string>& metadata)
  : impl_(std::make_unique<impl>()) {
  auto& m = *impl_;
  m.path = std::move(path);
  m.columns = std::move(columns);
  const auto instant = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  arrow::FieldVector fields;
  for (const auto& c : m.columns) {
    const bool text = c.type == column_type::text;
    fields.push_back(arrow::field(c.name, text ? arrow::utf8() : instant, false));
    m.texts.push_back(text ? std::make_unique<arrow::StringBuilder>() : nullptr);
    m.instants.push_back(text ? nullptr
                              : std::make_unique<arrow::TimestampBuilder>(instant, arrow::default_memory_pool()));
  }
  m.set.assign(m.columns.size(), false);
  m.schema = arrow::schema(fields, to_arrow(metadata));
  m.file = std::make_unique<atomic_parquet_file>(m.path, *m.schema);
}

dataset_writer::~dataset_writer() = default;

void dataset_writer::text(std::size_t index, std::string_view value) {
  impl_->check(index, column_type::text);
  impl_->check_status(impl_->texts[index]->Append(value), index);
}

void dataset_writer::timestamp(std::size_t index, std::int64_t micros) {
  impl_->check(index, column_type::timestamp_micros);
  impl_->check_status(impl_->instants[index]->Append(micros), index);
}

void dataset_writer::end_row() {
  auto& m = *impl_;
  for (std::size_t i = 0; i < m.columns.size(); ++i)
    if (!m.set[i])
      throw dataset_error(m.path, m.columns[i].name, "not set in row " + std::to_string(m.rows));
  m.set.assign(m.columns.size(), false);
  ++m.rows;
  if (++m.pending == rows_per_group)
    m.flush();
}

std::uint64_t dataset_writer::rows() const noexcept {
  return impl_->rows;
}

std::vector<std::string> dataset_writer::type_names() const {
  std::vector<std::string> names;
  for (const auto& field : impl_->schema->fields())
    names.push_back(field->type()->ToString());
  return names;
}

void dataset_writer::commit() {
  impl_->finish_writing();
  impl_->file->commit();
}

void write_token_rows(const std::string& path, const token_rows& rows) {
  check_rows(path, "target_start", rows.target_start.size(), rows.input_ids.size(), "input_ids");
  check_rows(path, "split", rows.split.size(), rows.input_ids.size(), "input_ids");
  check_split(path, rows.split);
  auto ids = std::make_shared<arrow::Int32Builder>();
  arrow::ListBuilder lists(arrow::default_memory_pool(), ids, arrow::list(arrow::field("item", arrow::int32(), false)));
  arrow::Int32Builder starts;
  for (std::size_t row = 0; row < rows.input_ids.size(); ++row) {
    const auto& row_ids = rows.input_ids[row];
    const auto start = rows.target_start[row];
    check_target_start(path, row, start, row_ids.size());
    auto status = lists.Append();
    if (status.ok())
      status = ids->AppendValues(row_ids.data(), static_cast<std::int64_t>(row_ids.size()));
    if (status.ok())
      status = starts.Append(start);
    if (!status.ok())
      throw dataset_error(path, "input_ids", "cannot be built: " + one_line(status));
  }
  const auto schema = arrow::schema({arrow::field("input_ids", lists.type(), false),
                                     arrow::field("target_start", arrow::int32(), false),
                                     arrow::field("split", arrow::utf8(), false)},
                                    to_arrow(rows.metadata));
  const auto table = arrow::Table::Make(schema, {finish(path, "input_ids", lists), finish(path, "target_start", starts),
                                                 string_array(path, "split", rows.split)});
  write_atomically(path, *table);
}

token_rows read_token_rows(const std::string& path) {
  const auto file = open_parquet(path);
  const std::string why = "a token file has columns input_ids, target_start and split";
  const int ids_index = require_column(file, "input_ids", why);
  const int start_index = require_column(file, "target_start", why);
  const int split_index = require_column(file, "split", why);
  const auto& ids_type = *file.schema->field(ids_index)->type();
  if (ids_type.id() != arrow::Type::LIST ||
      static_cast<const arrow::ListType&>(ids_type).value_type()->id() != arrow::Type::INT32)
    refuse_type(file, ids_index, "list<int32>");
  if (file.schema->field(start_index)->type()->id() != arrow::Type::INT32)
    refuse_type(file, start_index, "int32");

  token_rows rows;
  const auto id_lists = read_column(file, ids_index);
  for (const auto& chunk : id_lists->chunks()) {
    const auto& lists = static_cast<const arrow::ListArray&>(*chunk);
    const auto& ids = static_cast<const arrow::Int32Array&>(*lists.values());
    for (std::int64_t i = 0; i < lists.length(); ++i) {
      const auto row = rows.input_ids.size();
      if (lists.IsNull(i))
        refuse_null(file, "input_ids", row);
      const auto begin = lists.value_offset(i);
      const auto end = begin + lists.value_length(i);
      for (auto at = begin; at < end && ids.null_count() > 0; ++at)
        if (ids.IsNull(at))
          throw dataset_error(path, "input_ids", "a null token in row " + std::to_string(row) + " (rows count from 0)");
      rows.input_ids.emplace_back(ids.raw_values() + begin, ids.raw_values() + end);
    }
  }
  const auto target_starts = read_column(file, start_index);
  for (const auto& chunk : target_starts->chunks()) {
    const auto& starts = static_cast<const arrow::Int32Array&>(*chunk);
    for (std::int64_t i = 0; i < starts.length(); ++i) {
      const auto row = rows.target_start.size();
      if (starts.IsNull(i))
        refuse_null(file, "target_start", row);
      check_target_start(path, row, starts.Value(i), rows.input_ids[row].size());
      rows.target_start.push_back(starts.Value(i));
    }
  }
  rows.split = read_strings(file, split_index);
  check_split(path, rows.split);
  if (const auto& metadata = file.schema->metadata())
    for (std::int64_t i = 0; i < metadata->size(); ++i)
      if (metadata->key(i) != arrow_schema_key)
        rows.metadata[metadata->key(i)] = metadata->value(i);
  return rows;
}

} // namespace expd::runtime
