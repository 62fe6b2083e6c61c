#include "fhirsync/base/json_depth.h"

#include <rapidjson/encodings.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace fhirsync {

namespace {

// The input of RapidJSON's UTF-8 validator: `text` from `pos`, with NULs
// past its end (which no sequence accepts as a continuation byte).
class BoundedStream {
 public:
  using Ch = char;
  BoundedStream(std::string_view text, std::size_t pos) : text_(text), pos_(pos) {}
  Ch Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  Ch Take() { return pos_ < text_.size() ? text_[pos_++] : '\0'; }
  std::size_t Tell() const { return pos_; }

 private:
  std::string_view text_;
  std::size_t pos_;
};

struct DiscardOutput {
  void Put(char) {}
};

// "FF FE": the bytes of `text` in [from, to), at most four.
std::string HexBytes(std::string_view text, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to && i < text.size() && i < from + 4; ++i) {
    char hex[4];
    std::snprintf(hex, sizeof hex, "%02X", static_cast<unsigned char>(text[i]));
    if (!out.empty()) out += ' ';
    out += hex;
  }
  return out;
}

// The value of the four hex digits at `pos`, or nullopt (the parser words
// a bad escape).
std::optional<unsigned> Hex4(std::string_view text, std::size_t pos) {
  if (pos + 4 > text.size()) return std::nullopt;
  unsigned value = 0;
  for (std::size_t i = pos; i < pos + 4; ++i) {
    const char c = text[i];
    value <<= 4;
    if (c >= '0' && c <= '9') {
      value |= static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      value |= static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      value |= static_cast<unsigned>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
  }
  return value;
}

// `escape` is the offset of a backslash followed by 'u' in a string.
// Returns the length of the escape (12 for a surrogate pair, 6 for another
// character, 2 when no hex digits follow: the parser words that), or the
// lone surrogate it escapes.
StatusOr<std::size_t> UnicodeEscapeLength(std::string_view text, std::size_t escape) {
  const std::optional<unsigned> unit = Hex4(text, escape + 2);
  if (!unit) return std::size_t{2};
  if (*unit < 0xD800 || *unit > 0xDFFF) return std::size_t{6};
  if (*unit <= 0xDBFF && text.substr(escape + 6, 2) == "\\u") {
    const std::optional<unsigned> low = Hex4(text, escape + 8);
    if (low && *low >= 0xDC00 && *low <= 0xDFFF) return std::size_t{12};
  }
  return InvalidArgumentError("body has a lone UTF-16 surrogate " +
                              std::string(text.substr(escape, 6)) + " at byte " +
                              std::to_string(escape) +
                              " (a \\u escape of a high surrogate must be followed by one of a "
                              "low surrogate)");
}

Status Scan(std::string_view json, int max_depth, std::string_view what, bool check_encoding) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (check_encoding && (static_cast<unsigned char>(c) & 0x80) != 0) {
      BoundedStream in(json, i);
      DiscardOutput out;
      if (!rapidjson::UTF8<>::Validate(in, out)) {
        return InvalidArgumentError(std::string(what) + " is not valid UTF-8 at byte " +
                                    std::to_string(i) +
                                    " (" + HexBytes(json, i, in.Tell()) + ")");
      }
      i = in.Tell() - 1;
      continue;
    }
    if (in_string) {
      if (c == '\\') {
        if (check_encoding && i + 1 < json.size() && json[i + 1] == 'u') {
          FHIRSYNC_ASSIGN_OR_RETURN(std::size_t length, UnicodeEscapeLength(json, i));
          i += length - 1;  // past the escape (hex digits hold no quote)
          continue;
        }
        ++i;  // skip the escaped character
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return InvalidArgumentError(std::string(what) + " nests arrays/objects deeper than " +
                                    std::to_string(max_depth) + " levels (at byte " +
                                    std::to_string(i) + ")");
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckJsonText(std::string_view json, int max_depth, std::string_view what) {
  return Scan(json, max_depth, what, /*check_encoding=*/true);
}

Status CheckJsonDepth(std::string_view json, int max_depth, std::string_view what) {
  return Scan(json, max_depth, what, /*check_encoding=*/false);
}

}  // namespace fhirsync
