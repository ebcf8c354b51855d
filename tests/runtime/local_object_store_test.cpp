#include "runtime/local_object_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <stdlib.h>

using namespace expd::runtime;
namespace fs = std::filesystem;

namespace {

class local_object_store_test : public ::testing::Test {
protected:
  void SetUp() override {
    char dir[] = "/tmp/expd_objects_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    top_ = dir;
    root_ = top_ + "/bucket";
  }
  void TearDown() override {
    fs::remove_all(top_);
  }

  // Every file under the test's folder, the store's own or not.
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (auto& entry : fs::recursive_directory_iterator(top_))
      if (entry.is_regular_file())
        out.push_back(entry.path().string().substr(top_.size() + 1));
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string top_;
  std::string root_;
};

} // namespace

TEST_F(local_object_store_test, round_trip) {
  local_object_store store{root_};
  std::string binary{"a\0b\xff\n", 5};
  store.put("events/date=2025-01-01/hour=10/part-1.ndjson.zst", binary);
  store.put("top-level", "");
  EXPECT_EQ(store.get("events/date=2025-01-01/hour=10/part-1.ndjson.zst"), binary);
  EXPECT_EQ(store.get("top-level"), "");
  EXPECT_EQ(store.get("events/absent"), std::nullopt);
  EXPECT_EQ(store.get("top-level/below"), std::nullopt) << "a file on the way is not a folder";
  EXPECT_EQ(store.get("events/date=2025-01-01"), std::nullopt) << "a folder is not an object";
  // The folder is laid out like the bucket: one file per key, nothing else.
  EXPECT_EQ(files(),
            (std::vector<std::string>{"bucket/events/date=2025-01-01/hour=10/part-1.ndjson.zst",
                                      "bucket/top-level"}));
}

TEST_F(local_object_store_test, overwrite_replaces_the_bytes) {
  local_object_store store{root_};
  store.put("a/b", "first version, longer");
  store.put("a/b", "second");
  EXPECT_EQ(store.get("a/b"), "second");
  EXPECT_EQ(files(), (std::vector<std::string>{"bucket/a/b"})) << "no temporary file is left";
}

TEST_F(local_object_store_test, list_is_sorted_and_filtered_by_prefix) {
  local_object_store store{root_};
  std::vector<std::string> keys{"events/date=2025-01-02/hour=00/p1",
                                "events/date=2025-01-01/hour=10/p2",
                                "events/date=2025-01-01/hour=10/p1",
                                "events/date=2025-01-01/hour=09/p9",
                                "events/date=2025-02-01/hour=00/p1",
                                "other/x",
                                "eventsX"};
  for (auto& key : keys)
    store.put(key, key);
  EXPECT_EQ(store.list("events/date=2025-01-01/"),
            (std::vector<std::string>{"events/date=2025-01-01/hour=09/p9",
                                      "events/date=2025-01-01/hour=10/p1",
                                      "events/date=2025-01-01/hour=10/p2"}));
  // A prefix need not end at a '/', as in S3.
  EXPECT_EQ(store.list("events/date=2025-01").size(), 4u);
  EXPECT_EQ(store.list("events").size(), 6u);
  auto all = store.list("");
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(all, keys);
  EXPECT_TRUE(store.list("absent/").empty());
  EXPECT_TRUE(store.list("../").empty());
  EXPECT_TRUE(store.list("/events").empty());
}

TEST_F(local_object_store_test, temporary_files_are_not_listed) {
  local_object_store store{root_};
  store.put("a/b", "x");
  // What a crash between write and rename leaves behind.
  std::ofstream{root_ + "/a/.expd-tmp-99-0"} << "partial";
  EXPECT_EQ(store.list(""), (std::vector<std::string>{"a/b"}));
  EXPECT_THROW(store.get("a/.expd-tmp-99-0"), object_store_error);
}

TEST_F(local_object_store_test, hostile_keys_are_refused) {
  local_object_store store{root_};
  std::string control{"a\0b", 3};
  for (std::string key :
       {std::string{}, std::string{"/etc/passwd"}, std::string{"../escape"},
        std::string{"a/../../escape"}, std::string{"a//b"}, std::string{"a/"}, std::string{"./a"},
        std::string{"a/./b"}, std::string{".."}, std::string{"a\nb"}, control,
        std::string(1025, 'k'), std::string{".expd-tmp-1-1"}}) {
    EXPECT_THROW(store.put(key, "x"), object_store_error) << key;
    EXPECT_THROW(store.get(key), object_store_error) << key;
    EXPECT_THROW(store.remove(key), object_store_error) << key;
  }
  EXPECT_TRUE(files().empty()) << "nothing was written, inside the folder or next to it";
  // 1024 bytes is the longest key, in segments a file name can hold (255 bytes).
  std::string longest = std::string(204, 'k');
  for (int i = 0; i < 4; ++i)
    longest += "/" + std::string(204, 'k');
  ASSERT_EQ(longest.size(), 1024u);
  store.put(longest, "the longest key");
  store.put("name with spaces/\xc3\xbcnicode=1/.hidden", "x");
  EXPECT_EQ(store.list("").size(), 2u);
}

TEST_F(local_object_store_test, remove_deletes_and_absent_is_fine) {
  local_object_store store{root_};
  store.put("a/b", "x");
  store.remove("a/b");
  EXPECT_EQ(store.get("a/b"), std::nullopt);
  EXPECT_TRUE(store.list("").empty());
  store.remove("a/b");
  store.remove("never/was");
}

TEST_F(local_object_store_test, opened_by_url) {
  auto by_url = open_object_store("file://" + root_);
  auto by_path = open_object_store(root_ + "/");
  EXPECT_EQ(by_url->describe(), "file://" + root_);
  EXPECT_EQ(by_path->describe(), "file://" + root_);
  by_url->put("k", "v");
  EXPECT_EQ(by_path->get("k"), "v");
  EXPECT_EQ(open_object_store("file://" + top_ + "/with%20space")->describe(),
            "file://" + top_ + "/with space");
  EXPECT_THROW(open_object_store("relative/dir"), object_store_error);
  EXPECT_THROW(open_object_store("file://relative"), object_store_error);
  EXPECT_THROW(open_object_store("ftp://host/dir"), object_store_error);
  std::ofstream{top_ + "/a-file"} << "x";
  EXPECT_THROW(open_object_store(top_ + "/a-file"), object_store_error);
}
