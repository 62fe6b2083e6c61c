// What every fuzz target shares (fuzz/ only): a check that stops the fuzzer
// with a message. The throwaway node store is in fuzz_store.h.
//
// A FUZZ_CHECK that fails is a finding like a sanitizer report: libFuzzer
// keeps the input as a crash file. The checks state properties every input
// must keep (a result the parser accepted is accepted again, a stamped body
// hashes as the body it came from), so the fuzzers find wrong answers and
// not only memory errors.

#ifndef FHIRSYNC_FUZZ_FUZZ_CHECK_H_
#define FHIRSYNC_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(condition, what)                                                      \
  do {                                                                                   \
    if (!(condition)) {                                                                  \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__,     \
                   #condition, std::string(what).c_str());                               \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

#endif  // FHIRSYNC_FUZZ_FUZZ_CHECK_H_
