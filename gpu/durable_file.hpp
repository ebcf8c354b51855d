#pragma once

#include <filesystem>

namespace expd::gpu {

/// fsyncs a file or a folder, so what was written to it (or renamed into it) lasts a
/// crash of the machine. A path that cannot be opened throws checkpoint_error.
void sync_path(const std::filesystem::path& path);

} // namespace expd::gpu
