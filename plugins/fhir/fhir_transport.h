// FhirTransport: the FHIR transport plugin ("fhir"), a thin adapter from
// fhirsync::fhir::FhirClient (FHIR R4 JSON over one keep-alive HTTP
// connection) to TransportPlugin.
//
//   Read       GET [base]/Type/id (410 Gone: an OK read with `deleted` set)
//   ReadMany   a batch Bundle or `_id` search, whichever the remote supports
//              (its CapabilityStatement lists `batch`, or not)
//   Create     PUT [base]/Type/id at the client's id (DESIGN §4)
//   Update     PUT with If-Match: W/"expected_version"
//   Delete     DELETE, with If-Match when a version is expected
// Every result keeps fhir-client's Status (codes per DESIGN §5), the HTTP
// status, the OperationOutcome text and the `ambiguous` flag.
//
// Settings: the common HTTP options (plugins/common/http_plugin_settings.h;
// the FHIR base is the parent's url + "/fhir" unless options.url or
// options.path say otherwise; priority defaults to 10), plus
//   types                 comma-separated types to claim (default "*")
//   capability_statement  "auto" (default): narrow `types` from the remote's
//                         CapabilityStatement when it answers at Configure(),
//                         keep them when it cannot be reached (a child must
//                         start offline); "require": an unreachable remote
//                         fails Configure() with kUnavailable; "ignore"
//   read_many             "auto" (default), "batch" or "id-search"
//   read_many_chunk       ids per batch or search (default 100)
//   read_connections      reads in flight at once, each on its own connection
//                         (default 4; read_client_pool.h)
//   feed, feed_url        the change feed behind ReadChanges: none (default),
//                         atom or fhir-history (change_feed.h); `fhirsync init
//                         --parent` writes it from pull.feed
//
// Thread safety: after Configure(), every method may be called from several
// threads; the client serialises them on its connection.

#ifndef FHIRSYNC_PLUGINS_FHIR_FHIR_TRANSPORT_H_
#define FHIRSYNC_PLUGINS_FHIR_FHIR_TRANSPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "change_feed.h"
#include "read_client_pool.h"
#include "fhirsync/fhir/fhir_client.h"
#include "fhirsync/plugin/transport_plugin.h"

namespace fhirsync::fhirplugin {

inline constexpr int kDefaultFhirPriority = 10;

class FhirTransport : public TransportPlugin {
 public:
  Status Configure(const TransportSettings& settings) override;
  TransportCapabilities GetCapabilities() const override;

  ReadResult Read(const std::string& type, const std::string& id) override;
  ReadManyResult ReadMany(const std::string& type, const std::vector<std::string>& ids) override;
  RemoteWriteResult Create(const RemoteResource& resource) override;
  RemoteWriteResult Update(const RemoteResource& resource,
                           const std::string& expected_version) override;
  RemoteWriteResult Delete(const std::string& type, const std::string& id,
                           const std::string& expected_version) override;
  // The parent's change feed (change_feed.h; option `feed`).
  ChangePage ReadChanges(const std::string& since, int max_entries) override;

  // What Configure() decided, for `fhirsync plugins` and tests: the claimed
  // types, and whether they came from the CapabilityStatement.
  const std::vector<std::string>& claimed_types() const { return types_; }
  bool narrowed_by_capability_statement() const { return narrowed_; }

 protected:
  // The configured client; null before Configure() succeeded.
  fhir::FhirClient* client() const { return client_.get(); }

 private:
  // Checks a resource handed to a write: FHIR format and a body.
  static Status CheckWritable(const RemoteResource& resource);

  std::unique_ptr<fhir::FhirClient> client_;
  std::unique_ptr<ChangeFeed> change_feed_;  // null: no `history` operation
  std::unique_ptr<ReadClientPool> read_pool_;  // ReadMany's clients (requests in flight)
  std::vector<std::string> types_;
  std::vector<TransportOperation> operations_;
  int priority_ = kDefaultFhirPriority;
  bool narrowed_ = false;
};

}  // namespace fhirsync::fhirplugin

#endif  // FHIRSYNC_PLUGINS_FHIR_FHIR_TRANSPORT_H_
