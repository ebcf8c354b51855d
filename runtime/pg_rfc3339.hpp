#pragma once

// A timestamptz column as RFC 3339 UTC text with microseconds, '' when null: the form
// every API answer uses (core/rfc3339). A macro, so queries stay string literals.
#define EXPD_PG_RFC3339(col) "coalesce(to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '')"
