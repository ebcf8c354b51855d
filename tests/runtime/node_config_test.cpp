#include <gtest/gtest.h>

#include "runtime/node_config.hpp"

using namespace expd;

// A cluster member's PostgreSQL connections fail within a lease when the network is cut
// and reconnect at once after, so its URL carries libpq's TCP options; a node alone's
// is left as given, and an option the operator set keeps its value.
TEST(node_config, a_cluster_member_detects_a_stalled_postgresql_connection_within_its_lease) {
  const char* member[] = {"expd", "--pg=postgresql://x/y?connect_timeout=9", "--admin-token-file=/t",
                          "--node-name=n1", "--cluster-listen=127.0.0.1:7101", "--cluster-plain=on",
                          "--lease-ms=800"};
  auto cfg = runtime::parse_node_config(7, member);
  EXPECT_EQ(cfg.pg_url, "postgresql://x/y?connect_timeout=9&keepalives=1&keepalives_idle=1"
                        "&keepalives_interval=1&keepalives_count=3&tcp_user_timeout=800");
  const char* alone[] = {"expd", "--pg=postgresql://x/y", "--admin-token-file=/t"};
  EXPECT_EQ(runtime::parse_node_config(3, alone).pg_url, "postgresql://x/y");
}
