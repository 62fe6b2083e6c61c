// ChangeFeed: the FHIR plugin's `history` operation (TransportPlugin::
// ReadChanges): the parent's change feed, read one of two ways, chosen by
// the plugin option `feed` (set by `fhirsync init --feed` from pull.feed):
//
//   none          (default) no change feed: the plugin does not declare
//                 `history` (a node that only pushes through it).
//   atom          the parent node's Atom feed, {parent url}/feed/recent
//                 (option `feed_url` overrides), filtered on the parent with
//                 ?types= when the plugin claims named types; bodies are then
//                 fetched with ReadMany, batched (feed::AtomChangeReader).
//   fhir-history  the FHIR server's _history, bodies included, for any FHIR
//                 server without an Atom feed (fhir::HistoryChangeReader).
//
// Each way reads on its own connection, so reading the feed never waits for
// body fetches in flight.
//
// Thread safety: ReadChanges() may be called from several threads; calls
// are serialised.

#ifndef FHIRSYNC_PLUGINS_FHIR_CHANGE_FEED_H_
#define FHIRSYNC_PLUGINS_FHIR_CHANGE_FEED_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fhirsync/fhir/fhir_client.h"
#include "fhirsync/plugin/transport_plugin.h"

namespace fhirsync::fhirplugin {

class ChangeFeed {
 public:
  ~ChangeFeed();

  // Reads options `feed` and `feed_url`. `client_options` are the plugin's
  // FHIR client settings (base URL, credentials, timeouts); `types` the types
  // it claims ("*": every type). Returns null (and OK) for feed "none";
  // InvalidArgument naming the option for a bad value.
  static Status Create(const TransportSettings& settings,
                       const fhir::FhirClientOptions& client_options,
                       const std::vector<std::string>& types, std::unique_ptr<ChangeFeed>* out);

  ChangePage ReadChanges(const std::string& since, int max_entries);

  class Impl;  // one per feed kind (change_feed.cc)

 private:
  explicit ChangeFeed(std::unique_ptr<Impl> impl);
  std::mutex mutex_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fhirsync::fhirplugin

#endif  // FHIRSYNC_PLUGINS_FHIR_CHANGE_FEED_H_
