#include "runtime/s3_xml.hpp"

#include <gtest/gtest.h>

#include "runtime/object_store.hpp"

using namespace expd::runtime;

TEST(s3_xml, unescapes_entities) {
  EXPECT_EQ(xml_unescape("a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;"), "a & b <c> \"d\" 'e'");
  EXPECT_EQ(xml_unescape("&#233;&#xE9;&#x1F600;"), "\xc3\xa9\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(xml_unescape("&amp;amp;"), "&amp;") << "decoded once, not twice";
  EXPECT_EQ(xml_unescape("AT&T &unknown; &#0; &#xD800; & ;"), "AT&T &unknown; &#0; &#xD800; & ;");
}

TEST(s3_xml, reads_a_list_page) {
  // The shape of ListObjectsV2's answer; keys hold characters XML escapes.
  auto page = parse_list_objects(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>expd-archive</Name><Prefix>events/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>events/a&amp;b &lt;1&gt;.ndjson</Key><LastModified>2025-01-01T10:00:00.000Z</LastModified>
    <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>events/&#xFC;=1</Key><Size>1</Size></Contents>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>)");
  EXPECT_EQ(page.keys, (std::vector<std::string>{"events/a&b <1>.ndjson", "events/\xc3\xbc=1"}));
  EXPECT_TRUE(page.truncated);
  EXPECT_EQ(page.next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(s3_xml, reads_the_last_and_an_empty_page) {
  auto last = parse_list_objects("<ListBucketResult><IsTruncated>false</IsTruncated>"
                                 "<Contents><Key>k</Key></Contents></ListBucketResult>");
  EXPECT_EQ(last.keys, std::vector<std::string>{"k"});
  EXPECT_FALSE(last.truncated);
  auto empty = parse_list_objects("<ListBucketResult><Prefix/><KeyCount>0</KeyCount>"
                                  "<IsTruncated>false</IsTruncated></ListBucketResult>");
  EXPECT_TRUE(empty.keys.empty());
  EXPECT_THROW(parse_list_objects("<html>proxy error</html>"), object_store_error);
  EXPECT_THROW(parse_list_objects("<ListBucketResult><Contents><Size>1</Size></Contents>"
                                  "</ListBucketResult>"),
               object_store_error);
}

TEST(s3_xml, reads_an_error_body) {
  auto e = parse_s3_error(R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your key &amp; signing method.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>)");
  EXPECT_EQ(e.code, "SignatureDoesNotMatch");
  EXPECT_EQ(e.message, "The request signature we calculated does not match the signature you "
                       "provided. Check your key & signing method.");
  EXPECT_TRUE(parse_s3_error("").code.empty());
  EXPECT_TRUE(parse_s3_error("<ListBucketResult/>").code.empty());
}
