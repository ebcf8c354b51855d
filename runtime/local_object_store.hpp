#pragma once

#include "runtime/object_store.hpp"

namespace expd::runtime {

/// A local folder laid out like a bucket: key "events/date=2025-01-01/x.ndjson" is the
/// file <root>/events/date=2025-01-01/x.ndjson. A put writes a temporary file
/// (".expd-tmp-*", never listed) in the key's folder, fsyncs it, renames it over the key
/// and fsyncs the folder: readers see the old bytes or the new, and a crash leaves no
/// partial object. Keys follow check_object_key, and no segment may start ".expd-tmp-".
class local_object_store final : public object_store {
public:
  /// `root`: an absolute path, created (with its parents) when missing.
  explicit local_object_store(std::string root);

  void put(const std::string& key, std::string_view body) override;
  /// Renames the file in when it is on the same file system (no copy), else copies it.
  void put_file(const std::string& key, const std::string& local_path) override;
  std::optional<std::string> get(const std::string& key) override;
  std::vector<std::string> list(const std::string& prefix) override;
  void remove(const std::string& key) override;
  std::string describe() const override;

private:
  std::string make_folders(const std::string& key);
  void install(const std::string& key, const std::string& dir, const std::string& temp);

  std::string root_; ///< absolute, no trailing '/'
};

} // namespace expd::runtime
