// Fuzzes the streaming Atom page reader (feed-reader) with the bytes a
// parent or anyone on the path could send as a feed page, and the reading
// of each entry as a change (ChangeEntryFromAtom).
//
// Property: the reader's answer does not depend on how the bytes arrive.
// The page is read whole, then again in two chunks split at a point the
// input chooses; both must agree on success, the kind of error, and every
// entry and link. (The split point comes from the bytes'
// sum, so a seed is a plain feed page.)

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fhirsync/feed/atom_change_reader.h"
#include "fhirsync/feed/atom_page_reader.h"
#include "fuzz_check.h"

namespace fhirsync::feed {
namespace {

// Small limits, so the fuzzer reaches them with small inputs.
FeedReaderLimits SmallLimits() {
  FeedReaderLimits limits;
  limits.max_page_bytes = 64 * 1024;
  limits.max_entries = 50;
  limits.max_text_bytes = 8 * 1024;
  return limits;
}

std::string Describe(const AtomEntry& e) {
  std::string out = e.id + "|" + e.title + "|" + e.updated + "|" + e.published + "|" +
                    e.action_term + "|" + e.resource_type + "|" + e.content_type + "|" +
                    e.content + "|" + e.url;
  for (const AtomCategory& c : e.categories) out += "|c:" + c.term + "@" + c.scheme;
  for (const auto& [client, url] : e.client_urls) out += "|u:" + client + "=" + url;
  return out;
}

std::string Describe(const AtomPage& page) {
  const AtomPageInfo& i = page.info;
  std::string out = i.title + "|" + i.id + "|" + i.updated + "|" + i.self + "|" + i.via + "|" +
                    i.first + "|" + i.last + "|" + i.prev_archive + "|" + i.next_archive;
  for (const AtomEntry& e : page.entries) out += "\n" + Describe(e);
  return out;
}

}  // namespace
}  // namespace fhirsync::feed

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fhirsync::feed;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::size_t sum = 0;
  for (std::size_t i = 0; i < size; ++i) sum += data[i];
  const std::size_t split = size == 0 ? 0 : sum % (size + 1);
  const std::string url = "http://parent.example/feed/recent";

  auto whole = ReadAtomPage(url, bytes, SmallLimits());

  AtomPageReader reader(url, SmallLimits());
  fhirsync::Status appended = reader.Append(bytes.substr(0, split));
  if (appended.ok()) appended = reader.Append(bytes.substr(split));
  auto chunked = appended.ok() ? reader.Finish() : fhirsync::StatusOr<AtomPage>(appended);

  FUZZ_CHECK(whole.ok() == chunked.ok(),
             "whole: " + whole.status().message() + " chunked: " + chunked.status().message());
  if (!whole.ok()) {
    // Broken (kInvalidArgument) or cut (kDataLoss) may differ with the
    // chunking: libxml2's push parser finds some errors only when more
    // input comes, and in another order then. Both refuse the page and keep
    // the cursor; any other difference is a finding.
    const auto code = whole.status().code();
    const auto other = chunked.status().code();
    auto refusal = [](fhirsync::StatusCode c) {
      return c == fhirsync::StatusCode::kInvalidArgument || c == fhirsync::StatusCode::kDataLoss;
    };
    FUZZ_CHECK(code == other || (refusal(code) && refusal(other)),
               "whole: " + whole.status().message() + " chunked: " + chunked.status().message());
    FUZZ_CHECK(!whole.status().message().empty(), "an error without a message");
    return 0;
  }
  FUZZ_CHECK(Describe(*whole) == Describe(*chunked),
             "whole:\n" + Describe(*whole) + "\nchunked:\n" + Describe(*chunked));
  for (const AtomEntry& entry : whole->entries) {
    FUZZ_CHECK(!entry.id.empty(), "an entry without an id was accepted");
    (void)ChangeEntryFromAtom(entry);
  }
  return 0;
}
