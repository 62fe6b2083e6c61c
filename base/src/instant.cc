// The one date and instant parser: see fhirsync/base/instant.h.

#include "fhirsync/base/instant.h"

#include <chrono>
#include <string>

#include "fhirsync/base/text_util.h"

namespace fhirsync {
namespace {

constexpr std::int64_t kMsPerDay = 86'400'000;

// Days since 1970-01-01 of year-month-day; a day past the month's end runs
// on into the next month (std::chrono's rule for a day that is not ok()).
std::int64_t DaysSinceEpoch(int year, int month, int day) {
  using namespace std::chrono;
  const year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  return sys_days(date).time_since_epoch().count();
}

// Reads exactly `count` digits at `pos`, advancing it.
bool ReadDigits(std::string_view s, std::size_t& pos, int count, int& out) {
  if (pos + count > s.size()) return false;
  out = 0;
  for (int i = 0; i < count; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += count;
  return true;
}

}  // namespace

StatusOr<ParsedInstant> ParseInstantText(std::string_view text, InstantSyntax syntax) {
  auto bad = [&] {
    // Appended step by step: GCC 12 at -O3 reports a false -Wrestrict for
    // "literal" + std::string&&.
    std::string message = "'";
    message += EscapeForMessage(text);
    message += "' is not a date or instant (expected e.g. 2026-11-22 or 2026-11-22T10:15:30Z)";
    return InvalidArgumentError(message);
  };
  ParsedInstant parsed;
  std::size_t pos = 0;
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0, millis = 0;
  if (!ReadDigits(text, pos, 4, year)) return bad();
  parsed.precision = InstantPrecision::kYear;
  if (pos < text.size()) {
    if (text[pos++] != '-' || !ReadDigits(text, pos, 2, month)) return bad();
    parsed.precision = InstantPrecision::kMonth;
  }
  if (pos < text.size()) {
    if (text[pos++] != '-' || !ReadDigits(text, pos, 2, day)) return bad();
    parsed.precision = InstantPrecision::kDay;
  }
  std::int64_t offset_minutes = 0;
  if (pos < text.size()) {
    if (text[pos++] != 'T' || !ReadDigits(text, pos, 2, hour)) return bad();
    if (pos >= text.size() || text[pos++] != ':' || !ReadDigits(text, pos, 2, minute)) return bad();
    parsed.precision = InstantPrecision::kMinute;
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!ReadDigits(text, pos, 2, second)) return bad();
      parsed.precision = InstantPrecision::kSecond;
      if (pos < text.size() && text[pos] == '.') {
        ++pos;
        int scale = 100;
        bool any = false;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
          millis += (text[pos] - '0') * scale;
          scale /= 10;
          ++pos;
          any = true;
        }
        if (!any) return bad();
        parsed.precision = InstantPrecision::kMillisecond;
      }
    }
    if (pos < text.size()) {
      char sign = text[pos++];
      if (sign == 'Z') {
        // UTC
      } else if (sign == '+' || sign == '-') {
        int oh = 0, om = 0;
        if (!ReadDigits(text, pos, 2, oh)) return bad();
        if (pos < text.size() && text[pos] == ':') {
          ++pos;
        } else if (!syntax.compact_offset) {
          return bad();
        }
        if (!ReadDigits(text, pos, 2, om)) return bad();
        offset_minutes = (oh * 60 + om) * (sign == '+' ? 1 : -1);
      } else {
        return bad();
      }
    }
  }
  if (pos != text.size() || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60) {
    return bad();
  }
  const std::int64_t secs = DaysSinceEpoch(year, month, day) * 86400 + hour * 3600 +
                            minute * 60 + second - offset_minutes * 60;
  parsed.epoch_ms = secs * 1000 + millis;
  return parsed;
}

std::int64_t PeriodEndMs(const ParsedInstant& instant) {
  using namespace std::chrono;
  const sys_days start_day{days{(instant.epoch_ms >= 0 ? instant.epoch_ms
                                                       : instant.epoch_ms - (kMsPerDay - 1)) /
                                kMsPerDay}};
  const year_month_day start{start_day};
  switch (instant.precision) {
    case InstantPrecision::kYear:
      return instant.epoch_ms +
             (sys_days(start + years{1}) - start_day).count() * kMsPerDay;
    case InstantPrecision::kMonth:
      return instant.epoch_ms +
             (sys_days(start + months{1}) - start_day).count() * kMsPerDay;
    case InstantPrecision::kDay: return instant.epoch_ms + kMsPerDay;
    case InstantPrecision::kMinute: return instant.epoch_ms + 60'000;
    case InstantPrecision::kSecond: return instant.epoch_ms + 1000;
    case InstantPrecision::kMillisecond: return instant.epoch_ms + 1;
  }
  return instant.epoch_ms + 1;
}

}  // namespace fhirsync
