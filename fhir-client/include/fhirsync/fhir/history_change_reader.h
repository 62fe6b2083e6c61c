// HistoryChangeReader: a FHIR server's `_history` as the plain ChangePage
// values a transport plugin's ReadChanges() returns, so a child can follow
// any FHIR server, with or without an Atom feed.
//
// A round walks the system history `[base]/_history`, or, when the node
// subscribes to exactly one type or the server has no system-level history
// (its first page answered 400, 404, 405 or 501, or with a Bundle that is
// not a history), each subscribed type's `[base]/Type/_history` in turn (a
// node that subscribes to every type: each type the CapabilityStatement
// lists with history-type). Each walk follows the server's `next`
// links to the end, whatever order its pages come in (newest or oldest
// first); entries carry their bodies, so nothing is fetched separately.
// Deletes (request.method DELETE, or an entry without a resource) become
// kDelete entries. Types the node does not subscribe to are left out here
// (a FHIR server has no standard filter on system history). Each page is put
// oldest first.
//
// The next walk of a unit asks `_since` = the second of the newest change
// the last walk saw, less one more second: servers compare `_since` at their
// own precision, and may stamp a change a moment before it is listed. What
// that overlap lists again is dropped by (type, id, versionId), which the
// position remembers for the window only, so a change at the boundary
// instant is neither lost nor applied twice.
//
// Positions are JSON objects this reader writes (the one-member forms
// {"next": url} / {"since": instant} of earlier versions are read too);
// only the path of a next link is used (FhirClient talks to its own server).
//
// Thread safety: ReadChanges() may be called from one thread at a time. The
// client is borrowed and must outlive the reader.

#ifndef FHIRSYNC_FHIR_HISTORY_CHANGE_READER_H_
#define FHIRSYNC_FHIR_HISTORY_CHANGE_READER_H_

#include <string>
#include <vector>

#include "fhirsync/fhir/fhir_client.h"
#include "fhirsync/plugin/transport_plugin.h"

namespace fhirsync::fhir {

class HistoryChangeReader {
 public:
  // `types`: the subscribed types; empty: every type.
  HistoryChangeReader(FhirClient* client, std::vector<std::string> types);

  // The next page after `since` (empty: from the start). `max_entries` is
  // advisory: the server's page size (FhirClientOptions::history_page_size)
  // decides. Errors come in the page's status, with next_position == since:
  // the client's (kUnavailable, ...), InvalidArgument for a position this
  // reader did not write, FailedPrecondition when the server lists history
  // only per type and its CapabilityStatement names no type to walk.
  ChangePage ReadChanges(const std::string& since, int max_entries);

 private:
  // The types walked one by one: the subscribed ones, or for a node that
  // subscribes to every type, those the server's CapabilityStatement lists
  // with history-type (asked once). FailedPrecondition when it lists none;
  // the client's error when it cannot be read.
  StatusOr<std::vector<std::string>> TypesToWalk();

  FhirClient* const client_;
  const std::vector<std::string> types_;
  std::vector<std::string> every_type_;  // TypesToWalk's answer for every type
};

}  // namespace fhirsync::fhir

#endif  // FHIRSYNC_FHIR_HISTORY_CHANGE_READER_H_
