#include "gpu/durable_file.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include "gpu/checkpoint_error.hpp"

namespace expd::gpu {

void sync_path(const std::filesystem::path& path) {
  auto flags = O_RDONLY | O_CLOEXEC | (std::filesystem::is_directory(path) ? O_DIRECTORY : 0);
  int fd = ::open(path.c_str(), flags);
  if (fd < 0)
    throw checkpoint_error(path.string(), "", std::string{"open for fsync: "} + std::strerror(errno));
  auto failed = ::fsync(fd) != 0;
  auto error = errno;
  ::close(fd);
  if (failed)
    throw checkpoint_error(path.string(), "", std::string{"fsync: "} + std::strerror(error));
}

} // namespace expd::gpu
