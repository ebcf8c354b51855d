#include <cstring>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "gpu/checkpoint_error.hpp"
#include "gpu/safetensors.hpp"
#include "tests/gpu/tiny_checkpoints.hpp"

using namespace expd::gpu;
using nlohmann::json;

namespace {

const char* name_of(at::ScalarType type) {
  switch (type) {
  case at::kDouble: return "F64";
  case at::kFloat: return "F32";
  case at::kHalf: return "F16";
  case at::kBFloat16: return "BF16";
  case at::kLong: return "I64";
  case at::kInt: return "I32";
  case at::kShort: return "I16";
  case at::kChar: return "I8";
  case at::kByte: return "U8";
  case at::kBool: return "BOOL";
  default: return "?";
  }
}

// `tensor` is what `expected` (the Python side's description) says, value for value.
void expect_described(const at::Tensor& tensor, const json& expected, const std::string& name) {
  SCOPED_TRACE(name);
  EXPECT_EQ(name_of(tensor.scalar_type()), expected["dtype"].get<std::string>());
  EXPECT_EQ(tensor.sizes().vec(), expected["shape"].get<std::vector<std::int64_t>>());
  auto values = tensor.to(at::kDouble).flatten();
  auto& want = expected["values"];
  ASSERT_EQ(values.numel(), static_cast<std::int64_t>(want.size()));
  for (std::int64_t i = 0; i < values.numel(); ++i) {
    auto got = values[i].item<double>();
    EXPECT_EQ(got, want[i].get<double>()) << "value " << i;
    EXPECT_EQ(std::signbit(got), std::signbit(want[i].get<double>())) << "value " << i;
  }
}

// A file of the header length `length`, then `header` and `data`, as a hostile writer
// might make it.
std::filesystem::path raw_file(const std::string& name, std::uint64_t length,
                               const std::string& header, const std::string& data = "") {
  auto path = expd::gpu::test::scratch_dir("hostile") / (name + ".safetensors");
  std::ofstream out(path, std::ios::binary);
  char bytes[8];
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>(length >> (8 * i));
  out.write(bytes, 8);
  out << header << data;
  return path;
}

std::filesystem::path hostile(const std::string& name, const std::string& header,
                              const std::string& data = "") {
  return raw_file(name, header.size(), header, data);
}

// The checkpoint_error reading `path` throws: its message names the file, and the tensor
// when there is one at fault.
checkpoint_error refusal(const std::filesystem::path& path) {
  try {
    read_safetensors(path);
  } catch (const checkpoint_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find(path.string()), std::string::npos) << what;
    if (!e.tensor().empty()) {
      EXPECT_NE(what.find("\"" + e.tensor() + "\""), std::string::npos) << what;
    }
    return e;
  }
  ADD_FAILURE() << path << " was read";
  return checkpoint_error("", "", "");
}

bool mentions(const checkpoint_error& e, const std::string& text) {
  return std::string{e.what()}.find(text) != std::string::npos;
}

// Reading the file of `header` and `data` is refused, blaming `tensor`, saying `why`.
void expect_refused(const std::string& name, const std::string& header, const std::string& data,
                    const std::string& tensor, const std::string& why) {
  SCOPED_TRACE(name);
  auto e = refusal(hostile(name, header, data));
  EXPECT_EQ(e.tensor(), tensor);
  EXPECT_TRUE(mentions(e, why)) << e.what();
}

std::string eight_floats() {
  return std::string(32, '\0');
}

} // namespace

TEST(safetensors, reads_what_the_python_writer_wrote) {
  auto dir = expd::gpu::test::tiny_checkpoints();
  auto content = read_safetensors(dir / "dtypes.safetensors");
  std::ifstream in(dir / "dtypes.json");
  auto expected = json::parse(in);
  EXPECT_EQ(content.metadata, (expected["metadata"].get<std::map<std::string, std::string>>()));
  ASSERT_EQ(content.tensors.size(), expected["tensors"].size());
  for (auto& [name, want] : expected["tensors"].items()) {
    ASSERT_TRUE(content.tensors.count(name)) << name;
    expect_described(content.tensors.at(name), want, name);
  }
}

TEST(safetensors, the_python_reader_reads_what_it_writes) {
  auto path = expd::gpu::test::scratch_dir("written") / "out.safetensors";
  auto values = at::tensor({0.0, -1.5, 2.25, 1e-3, 65504.0, -0.0}, at::kDouble).reshape({2, 3});
  std::map<std::string, at::Tensor> tensors{
    {"f64", values}, {"f32", values.to(at::kFloat)}, {"f16", values.to(at::kHalf)},
    {"bf16", values.to(at::kBFloat16)},
    {"i64", at::tensor({std::int64_t{1} << 62, std::int64_t{0}, std::int64_t{-7}})},
    {"i32", at::tensor({-5, 5}, at::kInt)}, {"i8", at::tensor({-128, 127}, at::kChar)},
    {"u8", at::tensor({0, 255}, at::kByte)}, {"bool", at::tensor({1, 0, 1}).to(at::kBool)},
    {"scalar", at::tensor(3.5, at::kFloat).reshape({})}, {"empty", at::zeros({0, 4})},
    // Not contiguous: written as laid out logically.
    {"transposed", at::arange(6, at::kFloat).reshape({2, 3}).t()},
  };
  std::map<std::string, std::string> metadata{{"format", "pt"}, {"by", "expd"}};
  write_safetensors(path, tensors, metadata);

  auto described = expd::gpu::test::python_read(path);
  EXPECT_EQ(described["metadata"].get<decltype(metadata)>(), metadata);
  ASSERT_EQ(described["tensors"].size(), tensors.size());
  for (auto& [name, tensor] : tensors)
    expect_described(tensor, described["tensors"][name], name);

  // The header length is a multiple of 8, the padding spaces (the Python reader checks
  // both), and the C++ reader reads it back.
  auto back = read_safetensors(path);
  EXPECT_EQ(back.metadata, metadata);
  for (auto& [name, tensor] : tensors)
    EXPECT_TRUE(back.tensors.at(name).equal(tensor.contiguous())) << name;
}

TEST(safetensors, writing_replaces_the_file_whole_and_leaves_no_temporary_behind) {
  auto dir = expd::gpu::test::scratch_dir("replace");
  auto path = dir / "model.safetensors";
  write_safetensors(path, {{"a", at::ones({3})}});
  write_safetensors(path, {{"b", at::zeros({2, 2})}});
  auto content = read_safetensors(path);
  ASSERT_EQ(content.tensors.size(), 1u);
  EXPECT_TRUE(content.tensors.count("b"));

  // A tensor the format cannot hold: refused by name, the old file left as it was.
  try {
    write_safetensors(path, {{"c", at::ones({2})}, {"complex", at::ones({2}, at::kComplexFloat)}});
    ADD_FAILURE() << "a complex tensor was written";
  } catch (const checkpoint_error& e) {
    EXPECT_EQ(e.tensor(), "complex");
  }
  EXPECT_TRUE(read_safetensors(path).tensors.count("b"));
  std::size_t files = 0;
  for ([[maybe_unused]] auto& entry : std::filesystem::directory_iterator(dir))
    ++files;
  EXPECT_EQ(files, 1u);

  EXPECT_THROW(write_safetensors(dir / "missing" / "x.safetensors", {{"a", at::ones({1})}}),
               checkpoint_error);
}

TEST(safetensors, refuses_a_truncated_file) {
  auto path = expd::gpu::test::scratch_dir("short") / "short.safetensors";
  std::ofstream(path, std::ios::binary) << "abc";
  EXPECT_TRUE(mentions(refusal(path), "truncated"));

  // Header and all, but the data ends early.
  auto cut = hostile("cut", R"({"w":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})",
                     eight_floats().substr(0, 20));
  auto e = refusal(cut);
  EXPECT_EQ(e.tensor(), "w");
  EXPECT_TRUE(mentions(e, "out of range"));
}

TEST(safetensors, refuses_a_header_length_past_the_file_or_the_limit) {
  EXPECT_TRUE(mentions(refusal(raw_file("past", 1000, "{}")), "past the end"));
  EXPECT_TRUE(mentions(refusal(raw_file("huge", safetensors_header_limit + 1, "{}")),
                       "over the limit"));
  EXPECT_TRUE(mentions(refusal(raw_file("wrapped", ~std::uint64_t{0} - 4, "{}")), "over the limit"));
}

TEST(safetensors, refuses_malformed_json) {
  EXPECT_TRUE(mentions(refusal(hostile("broken", R"({"w":{"dtype":"F32",)")), "not a JSON object"));
  EXPECT_TRUE(mentions(refusal(hostile("array", R"([1,2])")), "start with '{'"));
  EXPECT_TRUE(mentions(refusal(hostile("nul", std::string("{}\0x", 4))), "not a JSON object"));
  auto twice = refusal(hostile(
    "twice", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
    std::string(4, '\0')));
  EXPECT_EQ(twice.tensor(), "w");
  EXPECT_EQ(refusal(hostile("entry", R"({"w":[1]})")).tensor(), "w");
  EXPECT_EQ(refusal(hostile("meta", R"({"__metadata__":{"a":1}})")).tensor(), "__metadata__");
  EXPECT_EQ(refusal(hostile("noshape", R"({"w":{"dtype":"F32","data_offsets":[0,0]}})")).tensor(), "w");
  EXPECT_EQ(refusal(hostile("negative", R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})"))
              .tensor(), "w");
  EXPECT_EQ(refusal(hostile("offsets", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})"))
              .tensor(), "w");
}

TEST(safetensors, refuses_an_unknown_dtype) {
  expect_refused("dtype", R"({"w":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}})",
                 std::string(1, '\0'), "w", "unknown dtype \"F7\"");
}

TEST(safetensors, refuses_offsets_out_of_range_overlapping_or_not_matching_the_shape) {
  auto f32 = [](const char* name, const char* shape, const char* offsets) {
    return "\"" + std::string{name} + "\":{\"dtype\":\"F32\",\"shape\":" + shape
           + ",\"data_offsets\":" + offsets + "}";
  };
  auto data = eight_floats();
  expect_refused("past", "{" + f32("w", "[8]", "[0,40]") + "}", data, "w", "out of range");
  expect_refused("backwards", "{" + f32("w", "[0]", "[8,4]") + "}", data, "w", "out of range");
  expect_refused("size", R"({"w":{"dtype":"F16","shape":[8],"data_offsets":[0,32]}})", data, "w",
                 "needs 16");
  expect_refused("overlap", "{" + f32("a", "[4]", "[0,16]") + "," + f32("b", "[4]", "[8,24]") + "}",
                 data, "b", "overlap tensor \"a\"");
  expect_refused("hole", "{" + f32("a", "[2]", "[0,8]") + "," + f32("b", "[2]", "[16,24]") + "}",
                 data, "b", "unused");
  expect_refused("tail", "{" + f32("a", "[2]", "[0,8]") + "}", data, "a", "after the last tensor");
  expect_refused("big", R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}})",
                 "", "w", "too large");
}

TEST(safetensors, a_missing_file_is_named) {
  auto path = expd::gpu::test::scratch_dir("missing") / "nothing.safetensors";
  EXPECT_TRUE(mentions(refusal(path), "open"));
}
