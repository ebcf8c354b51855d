#pragma once

#include <string>

namespace expd {

/// The body formats of POST /v1/assign and /v1/events.
enum class body_format { json, protobuf, unsupported };

/// What a request's Content-Type says its body is: no Content-Type, or one naming json
/// anywhere (as the gateway took JSON before protobuf), is JSON; the media type
/// application/x-protobuf (any letter case, parameters ignored) is protobuf.
body_format request_body_format(const std::string* content_type);

/// Whether an Accept header lists application/x-protobuf with a q other than 0; the
/// answer is then protobuf, otherwise JSON.
bool accepts_protobuf(const std::string* accept);

} // namespace expd
