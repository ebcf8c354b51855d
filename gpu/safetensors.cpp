#include "gpu/safetensors.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ATen/ops/empty.h>
#include <nlohmann/json.hpp>

#include "core/field_error.hpp"
#include "core/json_parse.hpp"
#include "gpu/checkpoint_error.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian and is copied as it lies");

namespace expd::gpu {

namespace {

struct dtype_name {
  const char* name;
  at::ScalarType type;
};

const dtype_name dtypes[] = {
  {"BOOL", at::kBool},   {"U8", at::kByte},      {"I8", at::kChar},   {"I16", at::kShort},
  {"I32", at::kInt},     {"I64", at::kLong},     {"F16", at::kHalf},  {"BF16", at::kBFloat16},
  {"F32", at::kFloat},   {"F64", at::kDouble},
};

// A file descriptor closed on every path out.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

std::string errno_text() {
  return std::strerror(errno);
}

void read_exactly(int fd, char* out, std::uint64_t size, std::uint64_t offset,
                  const std::string& file, const std::string& tensor) {
  while (size > 0) {
    auto n = ::pread(fd, out, std::min<std::uint64_t>(size, 1u << 30), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw checkpoint_error(file, tensor, n == 0 ? "file ends early" : "read: " + errno_text());
    out += n;
    offset += static_cast<std::uint64_t>(n);
    size -= static_cast<std::uint64_t>(n);
  }
}

void write_exactly(int fd, const char* data, std::uint64_t size, const std::string& file) {
  while (size > 0) {
    auto n = ::write(fd, data, std::min<std::uint64_t>(size, 1u << 30));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw checkpoint_error(file, "", "write: " + errno_text());
    data += n;
    size -= static_cast<std::uint64_t>(n);
  }
}

// One tensor's entry of the header, checked against the data's size.
struct entry {
  std::string name;
  at::ScalarType type;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

entry parse_entry(const std::string& name, const nlohmann::json& info, std::uint64_t data_size,
                  const std::string& file) {
  auto fail = [&](const std::string& why) { throw checkpoint_error(file, name, why); };
  if (!info.is_object())
    fail("header entry must be an object, not " + info.dump());
  entry e{name, at::kFloat, {}, 0, 0};

  auto dtype = info.find("dtype");
  if (dtype == info.end() || !dtype->is_string())
    fail("dtype must be a string");
  auto known = std::find_if(std::begin(dtypes), std::end(dtypes),
                            [&](auto& d) { return *dtype == d.name; });
  if (known == std::end(dtypes))
    fail("unknown dtype " + dtype->dump());
  e.type = known->type;

  auto shape = info.find("shape");
  if (shape == info.end() || !shape->is_array())
    fail("shape must be an array");
  std::uint64_t bytes = at::elementSize(e.type);
  for (auto& dim : *shape) {
    if (!dim.is_number_unsigned())
      fail("shape " + shape->dump() + " must hold non-negative integers");
    auto d = dim.get<std::uint64_t>();
    if (d > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
        || (d != 0 && bytes > std::numeric_limits<std::uint64_t>::max() / d))
      fail("shape " + shape->dump() + " is too large");
    bytes *= d;
    e.shape.push_back(static_cast<std::int64_t>(d));
  }

  auto offsets = info.find("data_offsets");
  if (offsets == info.end() || !offsets->is_array() || offsets->size() != 2
      || !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned())
    fail("data_offsets must be [begin, end]");
  e.begin = (*offsets)[0].get<std::uint64_t>();
  e.end = (*offsets)[1].get<std::uint64_t>();
  if (e.begin > e.end || e.end > data_size)
    fail("data_offsets " + offsets->dump() + " out of range of the " + std::to_string(data_size)
         + " data bytes");
  if (e.end - e.begin != bytes)
    fail("data_offsets " + offsets->dump() + " hold " + std::to_string(e.end - e.begin)
         + " bytes but " + dtype->get<std::string>() + " " + shape->dump() + " needs " + std::to_string(bytes));
  return e;
}

nlohmann::json parse_header(const std::string& text, const std::string& file) {
  // The reference implementation insists on an object right at the start.
  if (text.empty() || text[0] != '{')
    throw checkpoint_error(file, "", "header does not start with '{'");
  nlohmann::json header;
  try {
    header = core::parse_json(text);
  } catch (const core::field_error& e) {
    throw checkpoint_error(file, e.field(), std::string{"header: "} + e.what());
  }
  if (header.is_discarded() || !header.is_object())
    throw checkpoint_error(file, "", "header is not a JSON object");
  return header;
}

std::map<std::string, std::string> parse_metadata(const nlohmann::json& metadata,
                                                  const std::string& file) {
  if (!metadata.is_object())
    throw checkpoint_error(file, "__metadata__", "must be an object of strings");
  std::map<std::string, std::string> out;
  for (auto& [key, value] : metadata.items()) {
    if (!value.is_string())
      throw checkpoint_error(file, "__metadata__", "value of \"" + key + "\" must be a string");
    out[key] = value.get<std::string>();
  }
  return out;
}

const char* dtype_of(at::ScalarType type) {
  for (auto& d : dtypes)
    if (d.type == type)
      return d.name;
  return nullptr;
}

} // namespace

safetensors_content read_safetensors(const std::filesystem::path& path) {
  auto file = path.string();
  fd_guard f{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0)
    throw checkpoint_error(file, "", "open: " + errno_text());
  struct stat st{};
  if (::fstat(f.fd, &st) != 0)
    throw checkpoint_error(file, "", "stat: " + errno_text());
  auto file_size = static_cast<std::uint64_t>(st.st_size);
  if (file_size < 8)
    throw checkpoint_error(file, "", "truncated: " + std::to_string(file_size)
                                       + " bytes, less than the 8-byte header length");

  unsigned char length_bytes[8];
  read_exactly(f.fd, reinterpret_cast<char*>(length_bytes), 8, 0, file, "");
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i)
    header_size = header_size << 8 | length_bytes[i];
  if (header_size > safetensors_header_limit)
    throw checkpoint_error(file, "", "header length " + std::to_string(header_size)
                                       + " over the limit of "
                                       + std::to_string(safetensors_header_limit));
  if (header_size > file_size - 8)
    throw checkpoint_error(file, "", "header length " + std::to_string(header_size)
                                       + " past the end of the " + std::to_string(file_size)
                                       + "-byte file");

  std::string text(header_size, '\0');
  read_exactly(f.fd, text.data(), header_size, 8, file, "");
  auto header = parse_header(text, file);
  auto data_start = 8 + header_size;
  auto data_size = file_size - data_start;

  safetensors_content out;
  std::vector<entry> entries;
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__")
      out.metadata = parse_metadata(info, file);
    else
      entries.push_back(parse_entry(name, info, data_size, file));
  }

  // The data must be the tensors end to end, as the reference implementation requires:
  // no overlaps, no holes, nothing after the last.
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto& e = entries[i];
    if (e.begin < covered)
      throw checkpoint_error(file, e.name, "data_offsets overlap tensor \"" + entries[i - 1].name
                                             + "\"");
    if (e.begin > covered)
      throw checkpoint_error(file, e.name, "data_offsets leave bytes " + std::to_string(covered)
                                             + " to " + std::to_string(e.begin) + " unused");
    covered = e.end;
  }
  if (covered != data_size)
    throw checkpoint_error(file, entries.empty() ? "" : entries.back().name,
                           std::to_string(data_size - covered)
                             + " data bytes after the last tensor");

  for (auto& e : entries) {
    auto tensor = at::empty(e.shape, at::TensorOptions().dtype(e.type));
    read_exactly(f.fd, static_cast<char*>(tensor.data_ptr()), e.end - e.begin,
                 data_start + e.begin, file, e.name);
    out.tensors.emplace(e.name, std::move(tensor));
  }
  return out;
}

void write_safetensors(const std::filesystem::path& path,
                       const std::map<std::string, at::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  auto file = path.string();
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty())
    header["__metadata__"] = metadata;
  std::vector<at::Tensor> data;
  std::uint64_t offset = 0;
  for (auto& [name, tensor] : tensors) {
    if (name == "__metadata__")
      throw checkpoint_error(file, name, "the name is reserved for metadata");
    auto* dtype = dtype_of(tensor.scalar_type());
    if (!dtype)
      throw checkpoint_error(file, name, std::string{"dtype "} + at::toString(tensor.scalar_type())
                                           + " has no safetensors name");
    data.push_back(tensor.to(at::kCPU).contiguous());
    auto bytes = static_cast<std::uint64_t>(data.back().nbytes());
    header[name] = {{"dtype", dtype}, {"shape", tensor.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  auto text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path{"."};
  auto temp = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  fd_guard f{::mkstemp(temp.data())};
  if (f.fd < 0)
    throw checkpoint_error(file, "", "creating a temporary file beside it: " + errno_text());
  try {
    unsigned char length_bytes[8];
    for (int i = 0; i < 8; ++i)
      length_bytes[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(text.size()) >> (8 * i));
    write_exactly(f.fd, reinterpret_cast<const char*>(length_bytes), 8, file);
    write_exactly(f.fd, text.data(), text.size(), file);
    for (auto& t : data)
      write_exactly(f.fd, static_cast<const char*>(t.data_ptr()), t.nbytes(), file);
    if (::fchmod(f.fd, 0644) != 0 || ::fsync(f.fd) != 0)
      throw checkpoint_error(file, "", "fsync: " + errno_text());
    if (::close(f.fd) != 0) {
      f.fd = -1;
      throw checkpoint_error(file, "", "close: " + errno_text());
    }
    f.fd = -1;
    if (::rename(temp.c_str(), file.c_str()) != 0)
      throw checkpoint_error(file, "", "rename: " + errno_text());
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  // The rename itself lasts only once the folder is on disk.
  fd_guard d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd >= 0)
    ::fsync(d.fd);
}

} // namespace expd::gpu
