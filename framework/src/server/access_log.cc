#include "server/access_log.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>

#include "fhirsync/base/text_util.h"

namespace fhirsync::server {

namespace {

std::string PathOf(std::string_view target) {
  return std::string(target.substr(0, target.find('?')));
}

std::string Iso8601(std::chrono::system_clock::time_point time) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  return Poco::DateTimeFormatter::format(Poco::Timestamp(micros),
                                         Poco::DateTimeFormat::ISO8601_FRAC_FORMAT);
}

}  // namespace

std::string FormatAccessLine(const AccessRecord& record, AccessLogFormat format) {
  const std::string path = PathOf(record.target);
  const std::string user = record.user.empty() ? "-" : record.user;
  if (format == AccessLogFormat::kJson) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("time");
    const std::string time = Iso8601(record.time);
    w.String(time.c_str(), static_cast<rapidjson::SizeType>(time.size()));
    auto field = [&w](const char* key, const std::string& value) {
      w.Key(key);
      w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
    };
    field("client", record.client);
    field("user", user);
    field("method", record.method);
    field("path", path);
    w.Key("status");
    w.Int(record.status);
    w.Key("bytes");
    w.Uint64(record.bytes);
    w.Key("duration_ms");
    w.Double(record.duration_ms);
    w.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize());
  }
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.1fms", record.duration_ms);
  // EscapeForMessage turns control characters (and so newlines) into
  // escapes: a hostile path cannot forge a second log line.
  return Iso8601(record.time) + " " + EscapeForMessage(record.client, 64) + " " +
         EscapeForMessage(user, 128) + " " + EscapeForMessage(record.method, 16) + " " +
         EscapeForMessage(path, 512) + " " + std::to_string(record.status) + " " +
         std::to_string(record.bytes) + " " + duration;
}

}  // namespace fhirsync::server
