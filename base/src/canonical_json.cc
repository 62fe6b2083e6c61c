// Canonical JSON (RFC 8785's rules) and the content hash (see
// fhirsync/base/canonical_json.h).

#include "fhirsync/base/canonical_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <system_error>
#include <vector>

#include "fhirsync/base/fhir_json.h"
#include "fhirsync/base/json_depth.h"
#include "fhirsync/base/text_util.h"

namespace fhirsync {
namespace {

using Member = rapidjson::Value::ConstMemberIterator;

std::string_view NameOf(const rapidjson::Value& name) {
  return {name.GetString(), name.GetStringLength()};
}

// RFC 8785 orders member names by their UTF-16 code units. UTF-8 byte order
// is code point order, which agrees with UTF-16 order except where a
// character past U+FFFF (a surrogate pair, D800-DFFF in UTF-16; a 4-byte
// sequence in UTF-8) meets one in U+E000-U+FFFF (3-byte sequences led by
// 0xEE or 0xEF): there UTF-16 puts the surrogate pair first. The first
// differing byte decides: a continuation byte differs only between
// characters of the same length and lead, whose orders agree.
bool Utf16Less(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    const bool x_pair = x >= 0xF0;
    const bool y_pair = y >= 0xF0;
    const bool x_high = x == 0xEE || x == 0xEF;
    const bool y_high = y == 0xEE || y == 0xEF;
    if (x_pair && y_high) return true;
    if (y_pair && x_high) return false;
    return x < y;
  }
  return a.size() < b.size();
}

void AppendString(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain_from = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.substr(plain_from, i - plain_from));
    plain_from = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
  }
  out.append(text.substr(plain_from));
  out += '"';
}

// ECMAScript's Number::toString (RFC 8785 section 3.2.2.3): the shortest
// digits that read back as the same double, in plain notation from 1e-6 up
// to 1e21 and in exponent notation ("1e+21", "1.5e-7") beyond.
void AppendDouble(double value, std::string& out) {
  if (value == 0) {  // also -0
    out += '0';
    return;
  }
  if (value < 0) {
    out += '-';
    value = -value;
  }
  char buffer[40];
  // Without a precision, to_chars writes the shortest round-trip form:
  // "d[.ddd]e(+|-)XX".
  const auto [end, error] =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  if (error != std::errc()) {  // cannot happen for a finite double
    out += "null";
    return;
  }
  const std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  const std::size_t e_at = text.find('e');
  std::string digits;
  for (char c : text.substr(0, e_at)) {
    if (c != '.') digits += c;
  }
  int exponent = 0;
  std::string_view exponent_text = text.substr(e_at + 1);
  if (!exponent_text.empty() && exponent_text.front() == '+') exponent_text.remove_prefix(1);
  std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(), exponent);
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;  // value = 0.digits x 10^n
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<std::size_t>(n));
    out += '.';
    out.append(digits, static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += 'e';
    out += n - 1 >= 0 ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
}

void AppendNumber(const rapidjson::Value& value, std::string& out) {
  char buffer[24];
  std::to_chars_result written{};
  if (value.IsUint64()) {
    written = std::to_chars(buffer, buffer + sizeof buffer, value.GetUint64());
  } else if (value.IsInt64()) {
    written = std::to_chars(buffer, buffer + sizeof buffer, value.GetInt64());
  } else {
    AppendDouble(value.GetDouble(), out);
    return;
  }
  out.append(buffer, written.ptr);
}

// The members of `object` in RFC 8785's order, without those for which
// `skip` returns true.
template <typename Skip>
std::vector<Member> SortedMembers(const rapidjson::Value& object, Skip skip) {
  std::vector<Member> members;
  members.reserve(object.MemberCount());
  for (Member it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    if (!skip(NameOf(it->name), it->value)) members.push_back(it);
  }
  std::stable_sort(members.begin(), members.end(), [](const Member& a, const Member& b) {
    return Utf16Less(NameOf(a->name), NameOf(b->name));
  });
  return members;
}

// Writes `value`; when it is an object, leaves out its own members (not
// those of nested objects) for which `skip` returns true.
template <typename Skip>
void AppendObject(const rapidjson::Value& value, std::string& out, Skip skip) {
  if (!value.IsObject()) {
    AppendCanonicalJson(value, out);
    return;
  }
  out += '{';
  bool first = true;
  for (const Member& member : SortedMembers(value, skip)) {
    if (!first) out += ',';
    first = false;
    AppendString(NameOf(member->name), out);
    out += ':';
    AppendCanonicalJson(member->value, out);
  }
  out += '}';
}

bool IsStampedMetaField(std::string_view name) {
  return name == "versionId" || name == "lastUpdated" || name == "source";
}

// True when `meta` holds nothing but stamped fields.
bool MetaIsOnlyStamps(const rapidjson::Value& meta) {
  for (const auto& field : meta.GetObject()) {
    if (!IsStampedMetaField(NameOf(field.name))) return false;
  }
  return true;
}

// A parse of `text` into a document of its own (RapidJSON's pool allocator
// frees everything at once when the document goes). Full precision: the
// number read must be the number written.
std::unique_ptr<rapidjson::Document> ParseForHash(std::string_view text) {
  if (!CheckJsonText(text).ok()) return nullptr;
  auto doc = std::make_unique<rapidjson::Document>();
  doc->Parse<rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
  if (doc->HasParseError()) return nullptr;
  return doc;
}

}  // namespace

void AppendCanonicalJson(const rapidjson::Value& value, std::string& out) {
  switch (value.GetType()) {
    case rapidjson::kNullType: out += "null"; break;
    case rapidjson::kFalseType: out += "false"; break;
    case rapidjson::kTrueType: out += "true"; break;
    case rapidjson::kStringType: AppendString(NameOf(value), out); break;
    case rapidjson::kNumberType: AppendNumber(value, out); break;
    case rapidjson::kArrayType: {
      out += '[';
      bool first = true;
      for (const auto& element : value.GetArray()) {
        if (!first) out += ',';
        first = false;
        AppendCanonicalJson(element, out);
      }
      out += ']';
      break;
    }
    case rapidjson::kObjectType:
      AppendObject(value, out, [](std::string_view, const rapidjson::Value&) { return false; });
      break;
  }
}

std::string CanonicalJson(const rapidjson::Value& value) {
  std::string out;
  AppendCanonicalJson(value, out);
  return out;
}

std::string FhirContentHash(const rapidjson::Value& resource) {
  if (!resource.IsObject()) return Sha256Hex(CanonicalJson(resource));
  auto skip_none = [](std::string_view, const rapidjson::Value&) { return false; };
  auto skip_stamps = [](std::string_view name, const rapidjson::Value&) {
    return IsStampedMetaField(name);
  };
  std::vector<Member> members = SortedMembers(resource, [](std::string_view name,
                                                           const rapidjson::Value& value) {
    return name == "meta" && value.IsObject() && MetaIsOnlyStamps(value);
  });
  std::string out;
  out += '{';
  bool first = true;
  for (const Member& member : members) {
    if (!first) out += ',';
    first = false;
    const std::string_view name = NameOf(member->name);
    AppendString(name, out);
    out += ':';
    if (name == "meta" && member->value.IsObject()) {
      AppendObject(member->value, out, skip_stamps);
    } else {
      AppendObject(member->value, out, skip_none);
    }
  }
  out += '}';
  return Sha256Hex(out);
}

std::string FhirContentHashOfText(std::string_view text) {
  std::unique_ptr<rapidjson::Document> doc = ParseForHash(text);
  if (doc == nullptr || !doc->IsObject()) return Sha256Hex(text);
  return FhirContentHash(*doc);
}

std::string ContentHashOf(ResourceFormat format, std::string_view body) {
  if (format == ResourceFormat::kFhirJson) return FhirContentHashOfText(body);
  std::unique_ptr<rapidjson::Document> doc = ParseForHash(body);
  if (doc == nullptr) return Sha256Hex(body);
  return Sha256Hex(CanonicalJson(*doc));
}

}  // namespace fhirsync
