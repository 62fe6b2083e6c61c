// Writing Bundle JSON (internal). Stored bodies are spliced in as raw JSON
// text, never re-parsed, which is what keeps history and search pages cheap.

#ifndef FHIRSYNC_SERVER_BUNDLE_JSON_H_
#define FHIRSYNC_SERVER_BUNDLE_JSON_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "fhirsync/resource.h"

namespace fhirsync::server {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(JsonWriter& w, std::string_view text);

// A Bundle written front to back: Begin, then Total/Link as needed, then
// entries between BeginEntries/EndEntries, then Finish.
class BundleWriter {
 public:
  explicit BundleWriter(std::string_view bundle_type);
  void Total(std::int64_t total);
  void Link(std::string_view relation, std::string_view url);
  void BeginEntries();
  void EndEntries();
  JsonWriter& json() { return writer_; }
  // Bytes written so far (what the answer holds before Finish()).
  std::size_t size() const { return buffer_.GetSize(); }
  std::string Finish();

  // "resource": <body as raw JSON>
  void RawResource(std::string_view body);

 private:
  rapidjson::StringBuffer buffer_;
  JsonWriter writer_;
  bool links_open_ = false;
};

// A URL with query parameters, each value %-encoded.
std::string UrlWithQuery(const std::string& base,
                         const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_BUNDLE_JSON_H_
