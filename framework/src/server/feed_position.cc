#include "server/feed_position.h"

#include <Poco/SHA1Engine.h>
#include <Poco/UUIDGenerator.h>

#include <algorithm>

namespace fhirsync::server {

namespace {
constexpr char kAtomEntryIdPrefix[] = "tag:atomfeed.ict4h.org:";
}  // namespace

std::string EntryId(const std::string& node_id, std::int64_t seq) {
  static const Poco::UUID kNamespace("5e2f1a4c-9b0d-4f6e-8a37-1c2d3e4f5a6b");
  Poco::SHA1Engine sha1;
  Poco::UUID uuid = Poco::UUIDGenerator::defaultGenerator().createFromName(
      kNamespace, "fhirsync-change:" + node_id + ":" + std::to_string(seq), sha1,
      Poco::UUID::UUID_NAME_BASED_SHA1);
  return kAtomEntryIdPrefix + uuid.toString();
}

std::string FeedTypesQuery(const std::set<std::string>& types) {
  std::string query;
  for (const std::string& type : types) query += (query.empty() ? "?types=" : ",") + type;
  return query;
}

std::string PageUrl(const std::string& base_url, const std::string& name,
                    const std::string& types_query) {
  return base_url + "/feed/" + name + types_query;
}

std::int64_t FeedPageOf(std::int64_t seq, std::int64_t page_size) {
  return std::max<std::int64_t>(1, (seq + page_size - 1) / page_size);
}

}  // namespace fhirsync::server
