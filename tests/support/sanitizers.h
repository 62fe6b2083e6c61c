// Whether this test binary was built with AddressSanitizer (tests only).
//
// Tests that bound a process's peak memory cannot judge it under ASan: its
// quarantine holds freed memory back for hundreds of megabytes on purpose
// (to catch a use after free), and its shadow memory adds more, so the
// figures measure the sanitizer, not the code. Such tests skip their memory
// bound there (the plain build still checks it) and keep every other check.

#ifndef FHIRSYNC_TESTS_SUPPORT_SANITIZERS_H_
#define FHIRSYNC_TESTS_SUPPORT_SANITIZERS_H_

namespace fhirsync::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kUnderAddressSanitizer = true;
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SUPPORT_SANITIZERS_H_
