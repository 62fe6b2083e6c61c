// PrepareFhirBody(): a FHIR body checked and made ready to stamp in one pass.
//
// The document path (ParseFhirBody, then PrepareFhirBodyForStamp) builds a
// RapidJSON document and serialises it again; in a bulk import that was
// most of the preparing thread's time. Here a SAX handler feeds RapidJSON's
// reader straight into its writer, with the edits stamping needs (the id
// replaced, a meta.versionId/lastUpdated left out) made on the way, so no
// document is built. The output is byte for byte what the document path
// writes: the same writer writes the same values in the same order.
//
// The handler takes only the common shape: an object with one resourceType,
// at most one id and at most one meta, where meta is an object that holds
// neither versionId nor lastUpdated. A body without an id (a create) gets
// one after resourceType, where the document path puts it. Anything else
// (an incoming stamp, a duplicate key, nesting past kMaxJsonDepth, and
// every error) goes the document path, which handles it and words the
// errors. An incoming stamp is left to it because
// the document path's edits move members (RapidJSON's RemoveMember puts the
// object's last member in the removed one's place), and that order is part
// of the canonical text.

#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fhirsync/base/canonical_json.h"
#include "fhirsync/base/fhir_json.h"
#include "fhirsync/base/json_depth.h"
#include "fhirsync/resource.h"

namespace fhirsync {
namespace {

// A writer that copies a string needing no escapes with one memcpy; its own
// String() looks at every character.
class CanonicalWriter : public rapidjson::Writer<rapidjson::StringBuffer> {
 public:
  explicit CanonicalWriter(rapidjson::StringBuffer& buffer) : Writer(buffer) {}

  // `text` must hold no '"', '\\' or control character. A string that the
  // reader decoded without meeting an escape has none: JSON allows them in
  // a string only escaped.
  bool VerbatimString(std::string_view text) {
    Prefix(rapidjson::kStringType);
    char* out = os_->Push(text.size() + 2);
    out[0] = '"';
    std::memcpy(out + 1, text.data(), text.size());
    out[text.size() + 1] = '"';
    return EndValue(true);
  }
};

// The reader's input, of a type of its own: RapidJSON reads an
// InsituStringStream through a local copy (StreamLocalCopy), so the handler
// could not see how far the reader is; any other type it reads in place.
struct TrackedInsituStream : rapidjson::InsituStringStream {
  explicit TrackedInsituStream(char* text) : rapidjson::InsituStringStream(text) {}
};

// Writes the canonical text as the reader parses. A handler method that
// returns false stops the parse; Handled() then tells a body this pass does
// not take (see the top of this file) from a parse error, though both go
// the document path.
class OnePassHandler {
 public:
  OnePassHandler(TrackedInsituStream& in, const char* text, CanonicalWriter& out,
                 const rapidjson::StringBuffer& buffer, std::string_view stamp_id)
      : in_(in), text_(text), out_(out), buffer_(buffer), stamp_id_(stamp_id) {}

  bool Null() { return TakeScalar() && out_.Null(); }
  bool Bool(bool value) { return TakeScalar() && out_.Bool(value); }
  bool Int(int value) { return TakeScalar() && out_.Int(value); }
  bool Uint(unsigned value) { return TakeScalar() && out_.Uint(value); }
  bool Int64(std::int64_t value) { return TakeScalar() && out_.Int64(value); }
  bool Uint64(std::uint64_t value) { return TakeScalar() && out_.Uint64(value); }
  bool Double(double value) { return TakeScalar() && out_.Double(value); }
  // Only with kParseNumbersAsStringsFlag, which the parse does not set.
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }

  bool String(const char* text, rapidjson::SizeType size, bool /*copy*/) {
    if (depth_ == 0) return false;
    if (depth_ == 1) {
      switch (TakeMember()) {
        case Member::kOther:
          break;
        case Member::kType:
          resource_type_ = std::string_view(text, size);
          if (!WriteText(text, size)) return false;
          type_end_ = buffer_.GetSize();
          return true;
        case Member::kId:
          body_id_ = std::string_view(text, size);
          return out_.String(stamp_id_.data(), static_cast<rapidjson::SizeType>(stamp_id_.size()));
        case Member::kMeta:
          return false;
      }
    }
    return WriteText(text, size);
  }

  bool Key(const char* text, rapidjson::SizeType size, bool /*copy*/) {
    const std::string_view name(text, size);
    if (depth_ == 1) {
      if (name == "resourceType") {
        if (!Claim(seen_type_)) return false;
        next_ = Member::kType;
      } else if (name == "id") {
        if (!Claim(seen_id_)) return false;
        next_ = Member::kId;
      } else if (name == "meta") {
        if (!Claim(seen_meta_)) return false;
        next_ = Member::kMeta;
      }
    } else if (depth_ == 2 && in_meta_) {
      if (name == "versionId" || name == "lastUpdated") return false;
      ++meta_members_;
    }
    return WriteText(text, size);
  }

  bool StartObject() {
    if (depth_ >= kMaxJsonDepth) return false;  // the reader recurses per level
    if (depth_ == 1) {
      const Member member = TakeMember();
      if (member == Member::kType || member == Member::kId) return false;
      in_meta_ = member == Member::kMeta;
    }
    ++depth_;
    return out_.StartObject();
  }

  bool EndObject(rapidjson::SizeType /*members*/) {
    --depth_;
    if (depth_ == 1 && in_meta_) {
      // The document path removes an empty meta.
      if (meta_members_ == 0) return false;
      in_meta_ = false;
      meta_end_ = buffer_.GetSize();
    } else if (depth_ == 0) {
      object_end_ = buffer_.GetSize();
    }
    return out_.EndObject();
  }

  bool StartArray() {
    if (depth_ == 0 || depth_ >= kMaxJsonDepth) return false;
    if (depth_ == 1 && TakeMember() != Member::kOther) return false;
    ++depth_;
    return out_.StartArray();
  }

  bool EndArray(rapidjson::SizeType /*elements*/) {
    --depth_;
    return out_.EndArray();
  }

  // After a parse that succeeded: true when the body has the shape this
  // pass takes.
  bool Handled() const { return seen_type_; }

  std::string_view resource_type() const { return resource_type_; }
  // Without one, the output has no id either, and the stamp id goes in at
  // type_end().
  bool has_id() const { return seen_id_; }
  std::string_view body_id() const { return body_id_; }
  // Offset in the output just after resourceType's value.
  std::size_t type_end() const { return type_end_; }
  // Offsets in the output of meta's closing brace (npos without a meta) and
  // of the body's.
  std::size_t meta_end() const { return meta_end_; }
  std::size_t object_end() const { return object_end_; }

 private:
  // The top-level member whose value comes next.
  enum class Member { kOther, kType, kId, kMeta };

  Member TakeMember() {
    const Member member = next_;
    next_ = Member::kOther;
    return member;
  }

  // A number, boolean or null: only as the value of a member other than
  // resourceType, id and meta.
  bool TakeScalar() { return depth_ > 1 || (depth_ == 1 && TakeMember() == Member::kOther); }

  // False when the key was seen before: the document path finds the first
  // of duplicate keys, and so must this one.
  static bool Claim(bool& seen) {
    if (seen) return false;
    seen = true;
    return true;
  }

  // Parsing in place writes a string's decoded text from where its source
  // text starts; it ends where the source's closing quote was only if the
  // source held no escape, and then the text needs none written back.
  bool WriteText(const char* text, rapidjson::SizeType size) {
    const char* closing_quote = text_ + in_.Tell() - 1;
    if (closing_quote == text + size) return out_.VerbatimString(std::string_view(text, size));
    return out_.String(text, size);
  }

  TrackedInsituStream& in_;
  const char* text_;
  CanonicalWriter& out_;
  const rapidjson::StringBuffer& buffer_;
  std::string_view stamp_id_;

  int depth_ = 0;  // open objects and arrays
  Member next_ = Member::kOther;
  bool seen_type_ = false;
  bool seen_id_ = false;
  bool seen_meta_ = false;
  bool in_meta_ = false;  // depth 2 is the top-level meta
  int meta_members_ = 0;
  std::string_view resource_type_;
  std::string_view body_id_;
  std::size_t type_end_ = 0;
  std::size_t meta_end_ = std::string::npos;
  std::size_t object_end_ = 0;
};

}  // namespace

std::optional<PreparedFhirBody> PrepareFhirBodyInOnePass(std::string_view body,
                                                         std::string_view stamp_id,
                                                         std::size_t max_body_bytes) {
  if (body.size() > max_body_bytes || std::memchr(body.data(), '\0', body.size()) != nullptr ||
      !CheckNoZeroWithExponent(body).ok()) {
    return std::nullopt;
  }
  // The reader below validates the bytes (kParseValidateEncodingFlag) but
  // decodes a \u escape of a lone low surrogate into bytes that are not
  // UTF-8; bodies with escapes are rare, so only they pay for the check.
  if (body.find("\\u") != std::string_view::npos && !CheckJsonText(body).ok()) {
    return std::nullopt;
  }
  std::unique_ptr<char[]> text = InsituCopy(body);
  // Sized for the body as it came, so the buffer does not grow as it fills.
  rapidjson::StringBuffer buffer(nullptr, body.size() + stamp_id.size() + 64);
  CanonicalWriter writer(buffer);
  TrackedInsituStream in(text.get());
  OnePassHandler handler(in, text.get(), writer, buffer, stamp_id);
  rapidjson::Reader reader;
  // The flags of ParseFhirBody's parse, so numbers come out the same, and
  // bytes that are not UTF-8 refused (CheckJsonText does that there).
  constexpr unsigned kFlags = rapidjson::kParseInsituFlag | rapidjson::kParseFullPrecisionFlag |
                              rapidjson::kParseValidateEncodingFlag;
  if (reader.Parse<kFlags>(in, handler).IsError() || !handler.Handled()) return std::nullopt;
  const std::string_view body_id = handler.body_id();
  if (!ValidateResourceType(handler.resource_type()).ok() ||
      // The caller vouches for `stamp_id`, so an equal body id is valid.
      (handler.has_id() && body_id != stamp_id && !ValidateId(body_id).ok())) {
    return std::nullopt;
  }
  PreparedFhirBody out;
  out.resource_type = handler.resource_type();
  out.id = body_id;
  std::string_view written(buffer.GetString(), buffer.GetSize());
  std::size_t meta_end = handler.meta_end();
  std::size_t object_end = handler.object_end();
  std::string with_id;
  if (!handler.has_id()) {
    // The member the writer would write there: a valid id needs no escape.
    const std::size_t at = handler.type_end();
    const std::string member = ",\"id\":\"" + std::string(stamp_id) + "\"";
    with_id.reserve(written.size() + member.size());
    with_id.append(written.substr(0, at)).append(member).append(written.substr(at));
    written = with_id;
    if (meta_end != std::string::npos && meta_end > at) meta_end += member.size();
    object_end += member.size();
  }
  // The text is written in the body's member order; the hash is of the
  // canonical form, which needs the members sorted: one more parse, of
  // text this pass just wrote.
  out.unstamped = MakeUnstampedBody(written, meta_end, object_end, FhirContentHashOfText(written));
  return out;
}

StatusOr<PreparedFhirBody> PrepareFhirBody(std::string_view body, std::string_view stamp_id,
                                           std::size_t max_body_bytes) {
  if (std::optional<PreparedFhirBody> out =
          PrepareFhirBodyInOnePass(body, stamp_id, max_body_bytes)) {
    return std::move(*out);
  }
  // The document path: every other shape of body, and the errors' words.
  FHIRSYNC_ASSIGN_OR_RETURN(FhirDocument doc, ParseFhirBody(body, max_body_bytes));
  PreparedFhirBody out;
  out.unstamped = PrepareFhirBodyForStamp(doc, stamp_id);
  out.resource_type = std::move(doc.resource_type);
  out.id = std::move(doc.id);
  return out;
}

}  // namespace fhirsync
