// ParseInstantText and PeriodEndMs (fhirsync/base/instant.h): every form a
// date or instant reaches fhirsync in, the precision each one names, and the
// forms refused.

#include "fhirsync/base/instant.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "fhirsync/resource.h"

namespace fhirsync {
namespace {

struct Accepted {
  const char* text;
  std::int64_t epoch_ms;
  InstantPrecision precision;
};

TEST(InstantTextTest, EveryAcceptedFormParsesToItsStartAndPrecision) {
  const Accepted cases[] = {
      {"2026", 1767225600000, InstantPrecision::kYear},
      {"2026-11", 1793491200000, InstantPrecision::kMonth},
      {"2026-11-22", 1795305600000, InstantPrecision::kDay},
      {"2026-11-22T10:15", 1795342500000, InstantPrecision::kMinute},
      {"2026-11-22T10:15Z", 1795342500000, InstantPrecision::kMinute},
      {"2026-11-22T10:15+02:00", 1795335300000, InstantPrecision::kMinute},
      {"2026-11-22T10:15:30", 1795342530000, InstantPrecision::kSecond},
      {"2026-11-22T10:15:30Z", 1795342530000, InstantPrecision::kSecond},
      {"2026-11-22T10:15:30+05:30", 1795322730000, InstantPrecision::kSecond},
      {"2026-11-22T10:15:30.5", 1795342530500, InstantPrecision::kMillisecond},
      {"2026-11-22T10:15:30.123Z", 1795342530123, InstantPrecision::kMillisecond},
      // Digits past the millisecond are read and dropped.
      {"2026-11-22T10:15:30.123456Z", 1795342530123, InstantPrecision::kMillisecond},
      {"2026-11-22T10:15:30.123-05:30", 1795362330123, InstantPrecision::kMillisecond},
      // A day past its month's end runs on; a leap second is the next minute.
      {"2026-02-30", 1772409600000, InstantPrecision::kDay},
      {"2026-06-30T23:59:60Z", 1782864000000, InstantPrecision::kSecond},
      {"1969-12-31T23:59:59.999Z", -1, InstantPrecision::kMillisecond},
      {"1970-01-01T00:00:00Z", 0, InstantPrecision::kSecond},
  };
  for (const Accepted& c : cases) {
    StatusOr<ParsedInstant> parsed = ParseInstantText(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status();
    EXPECT_EQ(parsed->epoch_ms, c.epoch_ms) << c.text;
    EXPECT_EQ(parsed->precision, c.precision) << c.text;
    // ParseInstant (resource.h) is this parser.
    StatusOr<std::int64_t> ms = ParseInstant(c.text);
    ASSERT_TRUE(ms.ok()) << c.text;
    EXPECT_EQ(*ms, c.epoch_ms) << c.text;
  }
}

TEST(InstantTextTest, CompactOffsetOnlyWhenAsked) {
  // OpenMRS writes "+0530"; FHIR and Atom text never does.
  const char* text = "2026-11-22T10:15:30+0530";
  StatusOr<ParsedInstant> strict = ParseInstantText(text);
  EXPECT_EQ(strict.status().code(), StatusCode::kInvalidArgument);
  InstantSyntax openmrs;
  openmrs.compact_offset = true;
  StatusOr<ParsedInstant> compact = ParseInstantText(text, openmrs);
  ASSERT_TRUE(compact.ok()) << compact.status();
  EXPECT_EQ(compact->epoch_ms, 1795322730000);
  // The colon form still parses, and a half offset does not.
  EXPECT_TRUE(ParseInstantText("2026-11-22T10:15:30+05:30", openmrs).ok());
  EXPECT_FALSE(ParseInstantText("2026-11-22T10:15:30+05", openmrs).ok());
  EXPECT_FALSE(ParseInstantText("2026-11-22T10:15:30+053", openmrs).ok());
  EXPECT_FALSE(ParseInstantText("2026-11-22T10:15:30+05300", openmrs).ok());
}

TEST(InstantTextTest, RefusedFormsNameTheText) {
  for (const char* text :
       {"", "202", "2026-1", "2026-11-2", "2026/11/22", "22/11/2026", "2026-11-22T10",
        "2026-11-22T10:", "2026-11-22T10:15:", "2026-11-22 10:15", "2026-11-22T10:15:30.",
        "2026-11-22T10:15:30+02", "2026-11-22T10:15:30+0200", "2026-11-22T10:15:30ZZ",
        "2026-11-22T10:15:30 ", "2026-00-01", "2026-13-01", "2026-11-00", "2026-11-32",
        "2026-11-22T24:00", "2026-11-22T10:60", "2026-11-22T10:15:61", "soon"}) {
    StatusOr<ParsedInstant> parsed = ParseInstantText(text);
    ASSERT_FALSE(parsed.ok()) << "'" << text << "' was accepted";
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(parsed.status().message(),
              "'" + std::string(text) +
                  "' is not a date or instant (expected e.g. 2026-11-22 or 2026-11-22T10:15:30Z)");
  }
}

TEST(InstantTextTest, PeriodEndFollowsPrecision) {
  constexpr std::int64_t kDay = 86400000;
  auto length = [](const char* text) {
    StatusOr<ParsedInstant> parsed = ParseInstantText(text);
    EXPECT_TRUE(parsed.ok()) << text;
    return parsed.ok() ? PeriodEndMs(*parsed) - parsed->epoch_ms : -1;
  };
  EXPECT_EQ(length("2024"), 366 * kDay);  // a leap year
  EXPECT_EQ(length("2023"), 365 * kDay);
  EXPECT_EQ(length("2024-02"), 29 * kDay);
  EXPECT_EQ(length("2023-02"), 28 * kDay);
  EXPECT_EQ(length("2023-12"), 31 * kDay);  // into the next year
  EXPECT_EQ(length("1969-12"), 31 * kDay);  // before the epoch
  EXPECT_EQ(length("2023-04"), 30 * kDay);
  EXPECT_EQ(length("2023-12-31"), kDay);
  EXPECT_EQ(length("2023-12-31T10:00"), 60000);
  EXPECT_EQ(length("2023-12-31T10:00+02:00"), 60000);
  EXPECT_EQ(length("2023-12-31T10:00:00Z"), 1000);
  EXPECT_EQ(length("2023-12-31T10:00:00+02:00"), 1000);
  EXPECT_EQ(length("2023-12-31T10:00:00.5Z"), 1);
}

}  // namespace
}  // namespace fhirsync
