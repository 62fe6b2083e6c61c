// HistoryChangeReader: a FHIR server's `_history` as the plain ChangePage
// values a transport plugin's ReadChanges() returns, so a child can follow
// any FHIR server, with or without an Atom feed.
//
// The first read asks `[base]/_history` (or `[base]/Type/_history` when the
// node subscribes to exactly one type); later reads follow the server's
// `next` links, and once there is none, ask again with `_since` = the newest
// lastUpdated seen. Entries carry their bodies, so nothing is fetched
// separately. Types the node does not subscribe to are left out here (a
// FHIR server has no standard filter on system history). Each page is put
// oldest first (FHIR servers usually send newest first).
//
// Positions are small JSON objects ({"next": url} or {"since": instant});
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
  // decides. Errors come in the page's status: the client's (kUnavailable,
  // ...), or InvalidArgument for a position this reader did not write.
  ChangePage ReadChanges(const std::string& since, int max_entries);

 private:
  FhirClient* const client_;
  const std::vector<std::string> types_;
};

}  // namespace fhirsync::fhir

#endif  // FHIRSYNC_FHIR_HISTORY_CHANGE_READER_H_
