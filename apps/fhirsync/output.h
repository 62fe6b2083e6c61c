// Output helpers shared by the verbs: machine-readable JSON (--json) built
// with RapidJSON's Writer, and the few formats the human text uses.
//
// JSON goes to stdout as one document followed by a newline. Stored bodies
// are embedded as JSON values (not as strings), so `jq .resource` works.
//
// Thread safety: one JsonOutput per thread.

#ifndef FHIRSYNC_APPS_FHIRSYNC_OUTPUT_H_
#define FHIRSYNC_APPS_FHIRSYNC_OUTPUT_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "fhirsync/local_store.h"
#include "fhirsync/resource.h"

namespace fhirsync::cli {

// A JSON document under construction. Call the methods in document order,
// as with rapidjson::Writer; Print() writes it out.
class JsonOutput {
 public:
  JsonOutput() : writer_(buffer_) {}
  JsonOutput(const JsonOutput&) = delete;
  JsonOutput& operator=(const JsonOutput&) = delete;

  void StartObject() { writer_.StartObject(); }
  void EndObject() { writer_.EndObject(); }
  void StartArray() { writer_.StartArray(); }
  void EndArray() { writer_.EndArray(); }
  void Key(std::string_view key);
  void String(std::string_view value);
  void Int(std::int64_t value) { writer_.Int64(value); }
  void Double(double value) { writer_.Double(value); }
  void Bool(bool value) { writer_.Bool(value); }
  void Null() { writer_.Null(); }
  // An already valid JSON text (a stored body), inserted as a value.
  void Raw(std::string_view json);

  // key: value shorthands.
  void Field(std::string_view key, std::string_view value) { Key(key); String(value); }
  void Field(std::string_view key, const char* value) { Key(key); String(value); }
  void Field(std::string_view key, const std::string& value) { Key(key); String(value); }
  void Field(std::string_view key, std::int64_t value) { Key(key); Int(value); }
  void Field(std::string_view key, int value) { Key(key); Int(value); }
  void Field(std::string_view key, double value) { Key(key); Double(value); }
  void Field(std::string_view key, bool value) { Key(key); Bool(value); }

  // The document so far (complete once every object is closed).
  std::string_view Text() const { return {buffer_.GetString(), buffer_.GetSize()}; }
  // Writes Text() and a newline to `out` (stdout by default).
  void Print(std::ostream& out) const;
  void Print() const;

 private:
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

// Fields describing one stored version: type, id, version, last_updated
// (instant text), deleted, format, content_hash, and, if `with_body` and
// the version is not a tombstone, "resource": the body.
void WriteResourceFields(JsonOutput& json, const Resource& resource, bool with_body);
// Fields of a write's outcome: type, id, version, seq, action, changed,
// last_updated.
void WriteWriteResultFields(JsonOutput& json, const WriteResult& result);

// "2026-11-22T10:15:30.123Z", or "-" for 0.
std::string TimeText(std::int64_t epoch_ms);
// `text` padded with spaces to `width` (never cut).
std::string Pad(std::string_view text, std::size_t width);
// Right-aligned number in `width`.
std::string PadNumber(std::int64_t value, std::size_t width);

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_OUTPUT_H_
