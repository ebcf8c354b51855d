#include <gtest/gtest.h>

#include <string>

#include "actors/gateway/media_type.hpp"

using namespace expd;

namespace {

body_format of(const std::string& type) {
  return request_body_format(&type);
}

bool accepts(const std::string& accept) {
  return accepts_protobuf(&accept);
}

} // namespace

TEST(media_type, a_body_without_content_type_or_naming_json_is_json_as_before) {
  EXPECT_EQ(request_body_format(nullptr), body_format::json);
  EXPECT_EQ(of("application/json"), body_format::json);
  EXPECT_EQ(of("application/json; charset=utf-8"), body_format::json);
  EXPECT_EQ(of("application/vnd.api+json"), body_format::json);
}

TEST(media_type, protobuf_is_its_media_type_in_any_case_with_parameters) {
  EXPECT_EQ(of("application/x-protobuf"), body_format::protobuf);
  EXPECT_EQ(of("Application/X-Protobuf"), body_format::protobuf);
  EXPECT_EQ(of("application/x-protobuf; messageType=expd.v1.AssignRequest"),
            body_format::protobuf);
  EXPECT_EQ(of(" application/x-protobuf "), body_format::protobuf);
}

TEST(media_type, anything_else_is_unsupported) {
  EXPECT_EQ(of("text/plain"), body_format::unsupported);
  EXPECT_EQ(of("application/x-protobuffer"), body_format::unsupported);
  EXPECT_EQ(of("application/protobuf"), body_format::unsupported);
  EXPECT_EQ(of(""), body_format::unsupported);
}

TEST(media_type, accept_lists_protobuf_among_others_unless_its_q_is_zero) {
  EXPECT_FALSE(accepts_protobuf(nullptr));
  EXPECT_FALSE(accepts("application/json"));
  EXPECT_FALSE(accepts("*/*"));
  EXPECT_TRUE(accepts("application/x-protobuf"));
  EXPECT_TRUE(accepts("application/json;q=0.5, APPLICATION/x-protobuf"));
  EXPECT_TRUE(accepts("application/x-protobuf;q=0.9,application/json"));
  EXPECT_FALSE(accepts("application/x-protobuf;q=0"));
  EXPECT_FALSE(accepts("application/x-protobuf; q=0.0, application/json"));
}
