#include "server/bundle_json.h"

#include <Poco/URI.h>

namespace fhirsync::server {

void WriteString(JsonWriter& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

BundleWriter::BundleWriter(std::string_view bundle_type) : writer_(buffer_) {
  writer_.StartObject();
  writer_.Key("resourceType");
  writer_.String("Bundle");
  writer_.Key("type");
  WriteString(writer_, bundle_type);
}

void BundleWriter::Total(std::int64_t total) {
  writer_.Key("total");
  writer_.Int64(total);
}

void BundleWriter::Link(std::string_view relation, std::string_view url) {
  if (!links_open_) {
    writer_.Key("link");
    writer_.StartArray();
    links_open_ = true;
  }
  writer_.StartObject();
  writer_.Key("relation");
  WriteString(writer_, relation);
  writer_.Key("url");
  WriteString(writer_, url);
  writer_.EndObject();
}

void BundleWriter::BeginEntries() {
  if (links_open_) {
    writer_.EndArray();
    links_open_ = false;
  }
  writer_.Key("entry");
  writer_.StartArray();
}

void BundleWriter::EndEntries() { writer_.EndArray(); }

void BundleWriter::RawResource(std::string_view body) {
  writer_.Key("resource");
  writer_.RawValue(body.data(), body.size(), rapidjson::kObjectType);
}

std::string BundleWriter::Finish() {
  if (links_open_) {
    writer_.EndArray();
    links_open_ = false;
  }
  writer_.EndObject();
  return std::string(buffer_.GetString(), buffer_.GetSize());
}

std::string UrlWithQuery(const std::string& base,
                         const std::vector<std::pair<std::string, std::string>>& params) {
  std::string url = base;
  char separator = '?';
  for (const auto& [name, value] : params) {
    std::string encoded;
    Poco::URI::encode(value, "!#$&'()*+,/:;=?@[]", encoded);
    url += separator;
    url += name;
    url += '=';
    url += encoded;
    separator = '&';
  }
  return url;
}

}  // namespace fhirsync::server
