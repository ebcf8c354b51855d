// The service's PostgreSQL role has only what it needs, and every connection over TCP
// proves itself with a password that no URL carries.
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include <pqxx/pqxx>

#include "tests/integration/expd_process.hpp"

using namespace expd::testing;

namespace {

// Sets an environment variable for one scope; libpq reads PGPASSFILE at each connect.
class scoped_env {
public:
  scoped_env(const char* name, const char* value) : name_(name) {
    if (auto* old = std::getenv(name))
      old_ = old;
    ::setenv(name, value, 1);
  }
  ~scoped_env() {
    if (old_.empty())
      ::unsetenv(name_);
    else
      ::setenv(name_, old_.c_str(), 1);
  }

private:
  const char* name_;
  std::string old_;
};

} // namespace

TEST(database_roles, expd_runs_as_a_role_that_is_not_a_superuser) {
  pqxx::connection conn{required_env("EXPD_PG_URL", "PostgreSQL")};
  pqxx::nontransaction tx{conn};
  auto role = tx.exec1("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls"
                       " FROM pg_roles WHERE rolname = current_user");
  for (int i = 0; i < 4; ++i)
    EXPECT_FALSE(role[i].as<bool>()) << i;
  EXPECT_EQ(tx.exec1("SELECT pg_get_userbyid(datdba) FROM pg_database"
                     " WHERE datname = current_database()")[0]
              .as<std::string>(),
            tx.exec1("SELECT current_user")[0].as<std::string>());
  EXPECT_THROW(tx.exec("CREATE ROLE expd_should_not_exist"), pqxx::insufficient_privilege);
}

TEST(database_roles, the_urls_carry_no_password_and_a_client_without_it_is_refused) {
  std::regex no_password{"postgresql://[^:@/]+@127\\.0\\.0\\.1:[0-9]+/[a-z_]+"};
  for (auto* name : {"EXPD_PG_URL", "EXPD_TEST_PG_URL"}) {
    auto url = required_env(name, "PostgreSQL");
    EXPECT_TRUE(std::regex_match(url, no_password)) << name << " " << url;
    pqxx::connection with_password{url};
    EXPECT_TRUE(with_password.is_open());
    scoped_env none{"PGPASSFILE", "/nonexistent/pgpass"};
    EXPECT_THROW(pqxx::connection{url}, pqxx::broken_connection) << name;
  }
}

TEST(database_roles, the_test_role_is_not_a_superuser_either) {
  scratch_database db;
  EXPECT_EQ(db.scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"), "f");
  EXPECT_EQ(db.scalar("SELECT pg_has_role(current_user, 'expd_readonly', 'MEMBER')"), "t");
}
