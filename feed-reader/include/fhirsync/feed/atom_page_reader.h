// AtomPageReader: a streaming, hostile-input-safe reader of one Atom feed
// page (OpenMRS/ICT4H atomfeed layout, RFC 5005 paging links).
//
// The bytes are pushed in chunks as they arrive (from an HTTP body, a file,
// a string) into a libxml2 SAX push parser; no DOM of the page is built.
// What it refuses, and why:
//   - any DOCTYPE: Atom never needs one, and a DOCTYPE is how billion-laughs
//     and external-entity (XXE) attacks start. No DTD is loaded, no entity is
//     declared or substituted, nothing is fetched over the network;
//   - more than FeedReaderLimits::max_page_bytes bytes, deeper nesting than
//     max_depth, more than max_entries entries, an element text longer than
//     max_text_bytes;
//   - a declared encoding other than UTF-8 (iconv's failures would surface
//     at points that depend on how the bytes arrive);
//   - a root element other than Atom's <feed>; an entry without an <id>;
//     <content> that starts like JSON but is not valid JSON.
//
// Error codes (every message starts with the page name given by the caller
// and the position: "feed page 'URL' line L column C: ..."):
//   - kDataLoss: the page ended before </feed> (truncated; fetching it again
//     may help);
//   - kResourceExhausted: a size, depth or count limit was exceeded;
//   - kInvalidArgument: everything else (not XML, a DOCTYPE, wrong root,
//     malformed entry): the page is broken or hostile, re-reading will not
//     help.
//
// Delivery and the sync cursor: a caller applies one page in one store
// transaction. Two ways to receive entries:
//   - without an entry callback, entries are collected and Finish() returns
//     the AtomPage only when the whole page was read without error, so a
//     failed page delivers nothing;
//   - with an entry callback, each entry is passed as soon as its </entry>
//     is read (the page is never held whole), and after the first error no
//     further entry is passed. Entries already passed belong to a page that
//     then failed: the caller must discard them (roll back its transaction)
//     and must not advance its cursor.
//
// Thread safety: one reader serves one page on one thread. Distinct readers
// may run concurrently (libxml2 is initialised once, thread-safely).

#ifndef FHIRSYNC_FEED_ATOM_PAGE_READER_H_
#define FHIRSYNC_FEED_ATOM_PAGE_READER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "fhirsync/feed/atom_entry.h"
#include "fhirsync/status.h"

namespace fhirsync::feed {

class AtomPageReader {
 public:
  // Receives one entry; a non-OK return stops the reader, and Append() /
  // Finish() return that status (with the page name prepended).
  using EntryCallback = std::function<Status(AtomEntry&& entry)>;

  // `page_url` names the page in errors and is the base against which
  // relative link targets are resolved. Without `on_entry` entries are
  // collected into the AtomPage that Finish() returns.
  explicit AtomPageReader(std::string page_url, FeedReaderLimits limits = {},
                          EntryCallback on_entry = nullptr);
  ~AtomPageReader();
  AtomPageReader(const AtomPageReader&) = delete;
  AtomPageReader& operator=(const AtomPageReader&) = delete;

  // Parses the next chunk. Returns the first error (see above); once an error
  // was returned, every later call returns the same error.
  Status Append(std::string_view bytes);

  // Ends the page. Returns the page (info, and the entries unless an entry
  // callback took them) or the error. Call once.
  StatusOr<AtomPage> Finish();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads a whole page held in memory: Append(bytes) then Finish().
StatusOr<AtomPage> ReadAtomPage(std::string_view page_url, std::string_view bytes,
                                const FeedReaderLimits& limits = {});

}  // namespace fhirsync::feed

#endif  // FHIRSYNC_FEED_ATOM_PAGE_READER_H_
