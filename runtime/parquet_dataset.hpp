#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <string>
#include <vector>

// Training datasets as Parquet files, through Apache Arrow's C++ library (the pyarrow
// wheel's, found by CMake: docs/lifecycle.md). Arrow's headers need C++20 and stay in
// parquet_dataset.cpp, so C++17 code (gpu/, built against libtorch) can use this.
namespace expd::runtime {

/// A dataset file or folder that cannot be read or written as expected: `file()` is the
/// file at fault, `column()` the column (empty when the fault is not one column's).
class dataset_error : public std::runtime_error {
public:
  dataset_error(std::string file, std::string column, const std::string& message)
    : std::runtime_error(file + (column.empty() ? "" : " (column " + column + ")") + ": " + message),
      file_(std::move(file)), column_(std::move(column)) {
  }

  const std::string& file() const noexcept {
    return file_;
  }
  const std::string& column() const noexcept {
    return column_;
  }

private:
  std::string file_;
  std::string column_;
};

/// The rows of a text dataset (spec 9.1): the input context and the target output, and
/// which split each row is in.
struct text_rows {
  std::vector<std::string> input;
  std::vector<std::string> target;
  std::vector<std::string> split; ///< "train" or "validation"
};

/// The files read_text_dataset reads for `file_or_folder`, in its order: the path of a
/// file itself, or a folder's *.parquet files by name (not its subfolders, nor names
/// starting with "." or "_": temporary and metadata files). Throws dataset_error for a
/// path that does not exist or a folder without *.parquet files.
std::vector<std::string> dataset_files(const std::string& file_or_folder);

/// Reads a Parquet file, or every *.parquet file of a folder in name order. `input` and
/// `target` (string) are required and may not be null; `split` is optional (every row
/// "train" without it) and must hold "train" or "validation".
text_rows read_text_dataset(const std::string& file_or_folder);

/// Writes `rows` as one Parquet file (columns input, target, split), atomically: into a
/// temporary file beside it, fsynced, then renamed into place.
void write_text_dataset(const std::string& path, const text_rows& rows,
                        const std::map<std::string, std::string>& metadata = {});

/// XXH3-64 of the bytes of `files`, one after another, as 16 lowercase hex digits (what
/// expd-tokenize records of its source, and a built dataset's content hash). Throws
/// dataset_error naming a file that cannot be read.
std::string xxh3_of_files(const std::vector<std::string>& files);

/// A column of a file that dataset_writer writes: strings (never null) or instants
/// (microseconds since the epoch, UTC: Arrow's timestamp[us, tz=UTC]).
enum class column_type { text, timestamp_micros };

struct column_spec {
  std::string name;
  column_type type = column_type::text;
};

/// Writes one Parquet file row by row, a row group at a time, so millions of rows are
/// never held at once: into a temporary file beside `path`, fsynced and renamed into
/// place by commit(), as write_text_dataset does. Destroyed before commit() (a failed
/// build), it removes the temporary file: `path` is never seen half-written. A text
/// dataset's columns (input, target, split) among the columns keep the file readable
/// by read_text_dataset.
class dataset_writer {
public:
  dataset_writer(std::string path, std::vector<column_spec> columns,
                 const std::map<std::string, std::string>& metadata = {});
  ~dataset_writer();
  dataset_writer(const dataset_writer&) = delete;
  dataset_writer& operator=(const dataset_writer&) = delete;

  /// Sets column `index` of the current row (a text or a timestamp column).
  void text(std::size_t index, std::string_view value);
  void timestamp(std::size_t index, std::int64_t micros);
  /// Ends the row; every column must have been set once. Throws dataset_error otherwise.
  void end_row();
  std::uint64_t rows() const noexcept;
  /// Arrow's names of the columns' types: "string", "timestamp[us, tz=UTC]".
  std::vector<std::string> type_names() const;
  /// Writes the last row group and the footer, fsyncs, renames into place. Throws
  /// dataset_error (and leaves nothing behind).
  void commit();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A dataset tokenised for one tokenizer: each row's token ids (bos, input, target,
/// eos), where its target begins (the loss counts from there), its split, and the
/// file's key-value metadata (what it was made from).
struct token_rows {
  std::vector<std::vector<std::int32_t>> input_ids;
  std::vector<std::int32_t> target_start;
  std::vector<std::string> split;
  std::map<std::string, std::string> metadata;
};

/// Writes `rows` (columns input_ids list<int32>, target_start int32, split string) as
/// one Parquet file, atomically as write_text_dataset does.
void write_token_rows(const std::string& path, const token_rows& rows);

/// Reads what write_token_rows wrote; a missing column, a null, or a target_start outside
/// its row is refused naming the column.
token_rows read_token_rows(const std::string& path);

} // namespace expd::runtime
