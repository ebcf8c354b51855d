#pragma once

// The tiny SentencePiece tokenizer that tools/tiny-tokenizer.sh trains with spm_train,
// once per test suite, and a fresh copy of its folder for each test; what Python's
// sentencepiece (Debian's /usr/bin/python3) makes of texts on the same model.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "tests/support/run_command.hpp"

namespace expd::test {

inline const char* const spm_python = "/usr/bin/python3";

inline bool succeeds(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  ASSERT_TRUE(out.flush()) << path;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  return nlohmann::json::parse(read_file(path));
}

inline void write_json(const std::filesystem::path& path, const nlohmann::json& doc) {
  write_file(path, doc.dump(2));
}

class tiny_tokenizer_test : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (!succeeds("command -v spm_train")) {
      skip_reason() = "spm_train is not installed (deploy/install-deps.sh installs sentencepiece)";
      return;
    }
    if (!succeeds(std::string(spm_python) + " -c 'import sentencepiece'")) {
      skip_reason() = std::string(spm_python) + " has no sentencepiece module (python3-sentencepiece)";
      return;
    }
    trained() = std::filesystem::temp_directory_path() / ("expd-tokenizer-test-" + std::to_string(::getpid()));
    const std::string command = shell_quoted(EXPD_SOURCE_DIR "/tools/tiny-tokenizer.sh") + " --corpus-bin " +
                                shell_quoted(EXPD_CORPUS_BIN) + " " + shell_quoted(trained().string());
    train_failed() = std::system(command.c_str()) != 0;
  }

  static void TearDownTestSuite() {
    if (!trained().empty())
      std::filesystem::remove_all(trained());
  }

  void SetUp() override {
    if (!skip_reason().empty())
      GTEST_SKIP() << skip_reason();
    ASSERT_FALSE(train_failed()) << "tools/tiny-tokenizer.sh failed";
    folder = trained().string() + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(folder);
    std::filesystem::copy(trained(), folder);
  }

  void TearDown() override {
    if (!folder.empty())
      std::filesystem::remove_all(folder);
  }

  // What Python's sentencepiece answers for `texts` and `id_sequences`
  // (tests/tokenizer/spm_reference.py).
  nlohmann::json reference(const std::vector<std::string>& texts, const std::vector<std::vector<int>>& id_sequences) {
    const auto request = folder / "request.json";
    const auto answer = folder / "answer.json";
    write_json(request, {{"model", (folder / "tokenizer.model").string()}, {"texts", texts},
                         {"id_sequences", id_sequences}});
    const std::string command = std::string(spm_python) + " " +
                                shell_quoted(EXPD_SOURCE_DIR "/tests/tokenizer/spm_reference.py") + " " +
                                shell_quoted(request.string()) + " > " + shell_quoted(answer.string());
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return read_json(answer);
  }

  std::filesystem::path folder;

private:
  static std::string& skip_reason() {
    static std::string reason;
    return reason;
  }
  static bool& train_failed() {
    static bool failed = true;
    return failed;
  }
  static std::filesystem::path& trained() {
    static std::filesystem::path path;
    return path;
  }
};

} // namespace expd::test
