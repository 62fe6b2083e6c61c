// Fuzzes the preparation of a FHIR body for storage (framework/src/core:
// fhir_prepare.cc's one pass, fhir_json.cc's document path, the stamp),
// which every FHIR body a node receives goes through.
//
// Properties:
//   - the one pass and the document path agree byte for byte whenever the
//     one pass takes a body (fhir_prepare.cc promises it);
//   - InspectFhirBody accepts exactly the bodies PrepareFhirBody accepts;
//   - a stored body (prepared, then stamped) is itself a valid FHIR body
//     whose id is the stamp id, and preparing it again gives the same text
//     and content hash: the hash leaves the stamp out so that every node
//     holding the same content agrees on it (a child re-prepares what it
//     pulls).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fhirsync/base/fhir_json.h"
#include "fhirsync/resource.h"
#include "fuzz_check.h"

namespace {

constexpr std::size_t kMaxBody = 64 * 1024;
constexpr std::string_view kStampId = "fuzz-stamp-1";

void CheckSame(const fhirsync::UnstampedBody& a, const fhirsync::UnstampedBody& b,
               std::string_view what) {
  FUZZ_CHECK(a.text == b.text, std::string(what) + ": text\n" + a.text + "\n" + b.text);
  FUZZ_CHECK(a.content_hash == b.content_hash, std::string(what) + ": hash");
  FUZZ_CHECK(a.stamp_at == b.stamp_at, std::string(what) + ": stamp_at");
  FUZZ_CHECK(a.into_meta == b.into_meta, std::string(what) + ": into_meta");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fhirsync;
  std::string_view body(reinterpret_cast<const char*>(data), size);

  auto one_pass = PrepareFhirBodyInOnePass(body, kStampId, kMaxBody);
  auto document = ParseFhirBody(body, kMaxBody);
  auto inspected = InspectFhirBody(body, kMaxBody);
  FUZZ_CHECK(inspected.ok() == document.ok(),
             "InspectFhirBody: " + inspected.status().message() +
                 "; ParseFhirBody: " + document.status().message());
  if (!document.ok()) {
    FUZZ_CHECK(!one_pass.has_value(), "the one pass took a body the document path refuses: " +
                                          document.status().message());
    auto prepared = PrepareFhirBody(body, kStampId, kMaxBody);
    FUZZ_CHECK(!prepared.ok() && prepared.status() == document.status(),
               "PrepareFhirBody: " + prepared.status().message());
    return 0;
  }
  const std::string resource_type = document->resource_type;
  const std::string id = document->id;
  UnstampedBody unstamped = PrepareFhirBodyForStamp(*document, kStampId);
  if (one_pass.has_value()) {
    CheckSame(one_pass->unstamped, unstamped, "one pass vs document path");
    FUZZ_CHECK(one_pass->resource_type == resource_type && one_pass->id == id,
               "one pass: type or id");
  }

  const std::string stored = ApplyStamp(unstamped, 7, "2026-01-02T03:04:05.678Z");
  auto again = PrepareFhirBody(stored, kStampId, kMaxBody + 4096);
  FUZZ_CHECK(again.ok(), "the stored body does not prepare again: " + again.status().message() +
                             "\n" + stored);
  FUZZ_CHECK(again->resource_type == resource_type, "the stored body's type changed");
  FUZZ_CHECK(again->id == kStampId, "the stored body's id is not the stamp id: " + again->id);
  CheckSame(again->unstamped, unstamped, "re-prepared stored body vs first preparation");
  return 0;
}
