#include "runtime/object_store.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>

#include "core/percent_encoding.hpp"
#include "runtime/local_object_store.hpp"
#include "runtime/s3_object_store.hpp"

namespace expd::runtime {

namespace {

bool starts_with(const std::string& text, std::string_view prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

} // namespace

void check_object_key(const std::string& key) {
  auto refuse = [&](const char* why) {
    throw object_store_error("object key '" + key + "' refused: " + why);
  };
  if (key.empty())
    refuse("it is empty");
  if (key.size() > 1024)
    refuse("longer than 1024 bytes");
  if (key.front() == '/')
    refuse("keys are relative, not absolute");
  for (unsigned char c : key)
    if (c < 0x20 || c == 0x7f)
      refuse("it holds a control character");
  std::size_t begin = 0;
  for (;;) {
    auto end = key.find('/', begin);
    auto segment = std::string_view{key}.substr(begin, end - begin);
    if (segment.empty())
      refuse("it has an empty segment ('//' or a trailing '/')");
    if (segment == "." || segment == "..")
      refuse("'.' and '..' segments are not allowed");
    if (end == std::string::npos)
      break;
    begin = end + 1;
  }
}

void object_store::put_file(const std::string& key, const std::string& local_path) {
  std::ifstream in(local_path, std::ios::binary);
  std::string body{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in.good() && !in.eof())
    throw object_store_error(describe() + ": put " + key + ": cannot read " + local_path);
  put(key, body);
  std::remove(local_path.c_str());
}

std::unique_ptr<object_store> open_object_store(const std::string& url) {
  if (starts_with(url, "s3://"))
    return std::make_unique<s3_object_store>(s3_config_from_url(url));
  if (starts_with(url, "file://")) {
    auto path = core::uri_decode(std::string_view{url}.substr(7));
    if (!path || path->empty() || path->front() != '/')
      throw object_store_error("object store URL '" + url
                               + "': a file URL names an absolute folder, file:///abs/dir");
    return std::make_unique<local_object_store>(*path);
  }
  if (starts_with(url, "/"))
    return std::make_unique<local_object_store>(url);
  throw object_store_error("object store URL '" + url
                           + "' is neither file:///abs/dir, an absolute path, nor "
                             "s3://bucket?endpoint=...&region=...");
}

} // namespace expd::runtime
