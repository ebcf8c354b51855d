#include "runtime/local_object_store.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace expd::runtime {

namespace {

constexpr std::string_view temp_prefix = ".expd-tmp-";

// Closes the descriptor when the scope ends, whatever way it ends.
struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0)
      ::close(fd);
  }
};

int fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

// Writes all of `body` to a new file at `path` and fsyncs it; 0 or the errno.
int write_new_file(const std::string& path, std::string_view body) {
  fd_closer file{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
  if (file.fd < 0)
    return errno;
  for (std::size_t done = 0; done < body.size();) {
    auto n = ::write(file.fd, body.data() + done, body.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno;
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(file.fd) != 0)
    return errno;
  int fd = file.fd;
  file.fd = -1;
  return ::close(fd) == 0 ? 0 : errno;
}

} // namespace

local_object_store::local_object_store(std::string root) {
  if (root.empty() || root.front() != '/')
    throw object_store_error("local object store '" + root
                             + "': the folder must be an absolute path");
  root_ = std::filesystem::path{root}.lexically_normal().string();
  while (root_.size() > 1 && root_.back() == '/')
    root_.pop_back();
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec || !std::filesystem::is_directory(root_))
    throw object_store_error(
      describe() + ": cannot create the folder: " + (ec ? ec.message() : "a file is in the way"));
  if (root_ == "/")
    root_.clear(); // keys join as root_ + "/" + key
}

namespace {

void check_local_key(const std::string& key) {
  check_object_key(key);
  if (key.rfind(temp_prefix, 0) == 0
      || key.find("/" + std::string{temp_prefix}) != std::string::npos)
    throw object_store_error("object key '" + key + "' refused: segments starting '"
                             + std::string{temp_prefix}
                             + "' are the local store's temporary files");
}

} // namespace

// Creates the folders on the way to `key` one by one, each made durable in its parent;
// answers the key's folder.
std::string local_object_store::make_folders(const std::string& key) {
  auto slash = key.rfind('/');
  std::string dir = root_;
  std::size_t begin = 0;
  while (slash != std::string::npos && begin <= slash) {
    auto end = key.find('/', begin);
    auto parent = dir;
    dir += "/" + key.substr(begin, end - begin);
    if (::mkdir(dir.c_str(), 0755) == 0) {
      if (int err = fsync_dir(parent.empty() ? "/" : parent))
        throw object_store_error(describe() + ": put " + key + ": fsync " + parent + ": " + std::strerror(err));
    } else if (errno != EEXIST) {
      throw object_store_error(describe() + ": put " + key + ": mkdir " + dir + ": " + std::strerror(errno));
    }
    begin = end + 1;
  }
  return dir;
}

// Renames the durable file `temp` over the key (in folder `dir`) and fsyncs the folder.
void local_object_store::install(const std::string& key, const std::string& dir, const std::string& temp) {
  auto path = root_ + "/" + key;
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    throw object_store_error(describe() + ": put " + key + ": rename to " + path + ": " + std::strerror(err));
  }
  if (int err = fsync_dir(dir.empty() ? "/" : dir))
    throw object_store_error(describe() + ": put " + key + ": fsync " + dir + ": " + std::strerror(err));
}

void local_object_store::put(const std::string& key, std::string_view body) {
  check_local_key(key);
  auto dir = make_folders(key);
  static std::atomic<std::uint64_t> counter{0};
  auto temp = dir + "/" + std::string{temp_prefix} + std::to_string(::getpid()) + "-"
              + std::to_string(counter++);
  if (int err = write_new_file(temp, body)) {
    ::unlink(temp.c_str());
    throw object_store_error(describe() + ": put " + key + ": write " + temp + ": " + std::strerror(err));
  }
  install(key, dir, temp);
}

void local_object_store::put_file(const std::string& key, const std::string& local_path) {
  check_local_key(key);
  auto dir = make_folders(key);
  // A file on this file system (already fsynced by its writer) is renamed in, not copied.
  auto path = root_ + "/" + key;
  if (::rename(local_path.c_str(), path.c_str()) != 0) {
    if (errno == EXDEV)
      return object_store::put_file(key, local_path);
    throw object_store_error(describe() + ": put " + key + ": rename from " + local_path + ": "
                             + std::strerror(errno));
  }
  if (int err = fsync_dir(dir.empty() ? "/" : dir))
    throw object_store_error(describe() + ": put " + key + ": fsync " + dir + ": " + std::strerror(err));
}

std::optional<std::string> local_object_store::get(const std::string& key) {
  check_local_key(key);
  auto path = root_ + "/" + key;
  auto fail = [&](int err) {
    throw object_store_error(describe() + ": get " + key + ": " + std::strerror(err));
  };
  fd_closer file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return std::nullopt;
    fail(errno);
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0)
    fail(errno);
  if (S_ISDIR(st.st_mode))
    return std::nullopt; // a folder of other keys, not an object
  std::string body;
  body.reserve(static_cast<std::size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    auto n = ::read(file.fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      fail(errno);
    if (n == 0)
      break;
    body.append(buf, static_cast<std::size_t>(n));
  }
  return body;
}

std::vector<std::string> local_object_store::list(const std::string& prefix) {
  // Only the folder the prefix names up to its last '/' can hold matches. When that
  // part could not begin a key (".." or an empty segment), nothing matches.
  auto start = root_.empty() ? std::string{"/"} : root_;
  if (auto slash = prefix.rfind('/'); slash != std::string::npos) {
    try {
      check_local_key(prefix.substr(0, slash));
    } catch (const object_store_error&) {
      return {};
    }
    start = root_ + "/" + prefix.substr(0, slash);
  }
  auto fail = [&](const std::error_code& ec) {
    throw object_store_error(describe() + ": list " + prefix + ": " + ec.message());
  };
  std::vector<std::string> keys;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it{start, ec};
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory)
      return keys;
    fail(ec);
  }
  for (; it != std::filesystem::recursive_directory_iterator{}; it.increment(ec)) {
    if (ec)
      fail(ec);
    if (!it->is_regular_file(ec) || it->path().filename().string().rfind(temp_prefix, 0) == 0)
      continue;
    auto key = it->path().string().substr(root_.size() + 1);
    if (key.compare(0, prefix.size(), prefix) == 0)
      keys.push_back(std::move(key));
  }
  if (ec)
    fail(ec);
  std::sort(keys.begin(), keys.end());
  return keys;
}

void local_object_store::remove(const std::string& key) {
  check_local_key(key);
  auto path = root_ + "/" + key;
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR)
      return;
    throw object_store_error(describe() + ": remove " + key + ": " + std::strerror(errno));
  }
  auto dir = path.substr(0, path.rfind('/'));
  if (int err = fsync_dir(dir.empty() ? "/" : dir))
    throw object_store_error(describe() + ": remove " + key + ": fsync " + dir + ": "
                             + std::strerror(err));
}

std::string local_object_store::describe() const {
  return "file://" + (root_.empty() ? std::string{"/"} : root_);
}

} // namespace expd::runtime
