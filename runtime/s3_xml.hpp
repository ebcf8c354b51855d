#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace expd::runtime {

/// The parts of S3's XML answers the object store reads. S3 writes plain elements
/// without attributes, comments or CDATA, so finding <Name>...</Name> is enough; text
/// is entity-decoded.

/// One page of a ListObjectsV2 answer.
struct s3_list_page {
  std::vector<std::string> keys;       ///< in the order S3 sent them
  bool truncated = false;              ///< more pages follow
  std::string next_continuation_token; ///< send it back for the next page
};

/// The <Error> body of a failed request.
struct s3_error_body {
  std::string code; ///< "NoSuchKey", "SignatureDoesNotMatch"; empty when not an error body
  std::string message;
};

/// Parses a <ListBucketResult>. Throws object_store_error when `xml` is not one.
s3_list_page parse_list_objects(std::string_view xml);

/// Code and message of an <Error> body; both empty when `xml` is not one.
s3_error_body parse_s3_error(std::string_view xml);

/// XML character data decoded: &amp; &lt; &gt; &quot; &apos; and &#N; / &#xH; (as UTF-8).
/// Anything else after '&' is kept as it is.
std::string xml_unescape(std::string_view text);

} // namespace expd::runtime
