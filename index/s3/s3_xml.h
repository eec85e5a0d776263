// The few S3 XML replies dcmfs reads (ListObjectsV2, InitiateMultipartUpload,
// errors), parsed by hand: they are small, flat and machine-written, and a
// full XML parser would be a dependency for three tags. Entities are decoded.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dcmfs::s3xml {

// The text of the first <tag>...</tag> at or after `from`, decoded; nullopt if absent.
std::optional<std::string> Tag(std::string_view xml, std::string_view tag, size_t from = 0);

// Each <tag>...</tag> element's inner XML (not decoded), in order.
std::vector<std::string_view> Elements(std::string_view xml, std::string_view tag);

// &amp; &lt; &gt; &quot; &apos; &#NN; &#xNN; decoded.
std::string DecodeEntities(std::string_view s);
// The reverse, for the CompleteMultipartUpload body.
std::string EncodeEntities(std::string_view s);

}  // namespace dcmfs::s3xml
