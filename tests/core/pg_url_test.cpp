#include <gtest/gtest.h>

#include "core/pg_url.hpp"

using expd::core::with_pg_options;

TEST(pg_url, adds_options_to_a_uri_as_query_parameters) {
  EXPECT_EQ(with_pg_options("postgresql://expd@127.0.0.1:5432/expd", {{"a", "1"}, {"b", "2"}}),
            "postgresql://expd@127.0.0.1:5432/expd?a=1&b=2");
  EXPECT_EQ(with_pg_options("postgres://h/db?sslmode=disable", {{"a", "1"}}),
            "postgres://h/db?sslmode=disable&a=1");
}

TEST(pg_url, keeps_what_the_operator_set) {
  EXPECT_EQ(with_pg_options("postgresql://h/db?connect_timeout=10&x=1",
                            {{"connect_timeout", "2"}, {"timeout", "3"}}),
            "postgresql://h/db?connect_timeout=10&x=1&timeout=3");
  EXPECT_EQ(with_pg_options("host=h connect_timeout = 10", {{"connect_timeout", "2"}, {"timeout", "3"}}),
            "host=h connect_timeout = 10 timeout=3");
}

TEST(pg_url, adds_keywords_to_a_connection_string) {
  EXPECT_EQ(with_pg_options("host=h dbname=expd", {{"keepalives", "1"}}),
            "host=h dbname=expd keepalives=1");
  EXPECT_EQ(with_pg_options("", {{"keepalives", "1"}}), "keepalives=1");
  // A longer keyword ending in the same letters is another keyword.
  EXPECT_EQ(with_pg_options("host=h xkeepalives=1", {{"keepalives", "1"}}),
            "host=h xkeepalives=1 keepalives=1");
}
