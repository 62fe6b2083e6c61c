// The one parser for the dates and instants fhirsync reads: FHIR
// instant/dateTime/date values (meta.lastUpdated, _since, _lastUpdated,
// the admin API's ranges), Atom <updated>, the CLI's --since/--from/--to and
// OpenMRS REST's dateChanged/dateCreated. ParseInstant (fhirsync/resource.h)
// and every other reader of a date go through it.
//
// Accepted: YYYY, YYYY-MM, YYYY-MM-DD, then optionally Thh:mm, Thh:mm:ss or
// Thh:mm:ss.f (any number of fraction digits, milliseconds kept), each time
// optionally followed by Z or an offset +hh:mm / -hh:mm (also +hhmm when
// InstantSyntax::compact_offset). A time without a zone is UTC. Missing
// parts are the start of the period (2026-11 is 2026-11-01T00:00:00Z).
// Calendar arithmetic is std::chrono's (proleptic Gregorian); a day past the
// end of its month runs on into the next (2026-02-30 is 2026-03-02).
//
// Thread safety: pure functions.

#ifndef FHIRSYNC_BASE_INSTANT_H_
#define FHIRSYNC_BASE_INSTANT_H_

#include <cstdint>
#include <string_view>

#include "fhirsync/status.h"

namespace fhirsync {

// How much of a date the text gave; the period it names is that long.
enum class InstantPrecision { kYear, kMonth, kDay, kMinute, kSecond, kMillisecond };

struct ParsedInstant {
  std::int64_t epoch_ms = 0;  // the start of the period, Unix epoch ms, UTC
  InstantPrecision precision = InstantPrecision::kMillisecond;
};

struct InstantSyntax {
  // Also accept an offset without its colon ("+0530"), as OpenMRS writes it.
  bool compact_offset = false;
};

// InvalidArgument "'TEXT' is not a date or instant (expected e.g. 2026-11-22
// or 2026-11-22T10:15:30Z)" when `text` is not one of the forms above.
StatusOr<ParsedInstant> ParseInstantText(std::string_view text, InstantSyntax syntax = {});

// The end (exclusive) of the period `instant` names: its start plus a year,
// a month (of that month's length), a day, a minute, a second or one
// millisecond.
std::int64_t PeriodEndMs(const ParsedInstant& instant);

}  // namespace fhirsync

#endif  // FHIRSYNC_BASE_INSTANT_H_
