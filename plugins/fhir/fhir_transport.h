// FhirTransport: the FHIR transport plugin ("fhir"), a thin adapter from
// fhirsync::fhir::FhirClient (FHIR R4 JSON over one keep-alive HTTP
// connection) to TransportPlugin.
//
//   Read       GET [base]/Type/id (410 Gone: an OK read with `deleted` set)
//   ReadMany   a batch Bundle or `_id` search, whichever the remote supports
//              (its CapabilityStatement lists `batch`, or not)
//   Create     PUT [base]/Type/id at the client's id (architecture §4). To a
//              fhirsync parent with If-None-Match: *, so that a resource
//              another node created at the same id is not replaced: it
//              answers 412 (kAborted) and the push service compares the
//              copies. FHIR R4 defines that header for reads only, so a
//              server that is not fhirsync (its CapabilityStatement's
//              software.name) is read first instead: a copy already there is
//              a conflict (kAborted), else a plain PUT where the type's
//              updateCreate is true (docs/fhir-servers.md)
//   Update     PUT with If-Match: W/"expected_version"
//   Delete     DELETE, with If-Match when a version is expected
//   WriteMany  one `batch` Bundle per call (POST [base]), each entry with
//              request.method/url and request.ifMatch (an update or delete)
//              or request.ifNoneMatch "*" (a create), each answered on its
//              own (fhir::FhirClient::WriteBatch), when the remote's
//              CapabilityStatement lists `batch`; else one request per write
// Every result keeps fhir-client's Status (codes per architecture §5), the HTTP
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
//   write_many            "auto" (default): a batch Bundle when the
//                         CapabilityStatement lists `batch` (read at
//                         Configure(), or at the first WriteMany when it could
//                         not be read then); "batch": always; "single": one
//                         request per write
//   create_precondition   "auto" (default): "if-none-match" for a fhirsync
//                         server, one whose CapabilityStatement cannot be
//                         read (asked again at the next create) or is
//                         ignored (capability_statement), else
//                         "read-first"; "if-none-match": a create is sent
//                         with If-None-Match: * (see Create above);
//                         "read-first": GET, then a plain PUT when absent
//                         (a create racing it at the same id may still be
//                         replaced); "none": a plain PUT (a create then
//                         replaces what another node created at the same
//                         id: only where ids cannot collide)
//   read_connections      reads in flight at once, each on its own connection
//                         (default 4; read_client_pool.h)
//   feed, feed_url        the change feed behind ReadChanges: none (default),
//                         atom or fhir-history (change_feed.h); `fhirsync init
//                         --parent` writes it from pull.feed
//   export_deadline_seconds  how long StartExport waits for a Bulk Data
//                         export's manifest (default 1800)
// With a feed (atom or fhir-history) the plugin also offers `export`
// (StartExport / ReadExportFile: a FHIR Bulk Data `$export` client,
// fhir::BulkExportClient; docs/snapshot.md), and places the snapshot in
// that feed: for atom at the manifest's fhirsync watermark, for
// fhir-history at its transactionTime.
//
// Thread safety: after Configure(), every method may be called from several
// threads; the client serialises them on its connection.

#ifndef FHIRSYNC_PLUGINS_FHIR_FHIR_TRANSPORT_H_
#define FHIRSYNC_PLUGINS_FHIR_FHIR_TRANSPORT_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "change_feed.h"
#include "read_client_pool.h"
#include "fhirsync/fhir/bulk_export_client.h"
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
  // One batch Bundle (see the file comment). A write this plugin cannot
  // carry gets its own kInvalidArgument and is not sent. When the server
  // refuses the Bundle as such (404, 405, 501: no batch after all; 413: too
  // big) the writes are sent one at a time instead; every other failure of
  // the round trip is every write's result (architecture §5: 401/403 pause the
  // push, a lost answer marks every write ambiguous).
  std::vector<RemoteWriteResult> WriteMany(const std::vector<WriteRequest>& requests) override;
  // A Bulk Data export (see the file comment).
  ExportResult StartExport(const std::vector<std::string>& types, const std::string& job) override;
  CallOutcome ReadExportFile(const std::string& url, std::int64_t from_byte,
                             const std::function<bool(std::string_view chunk)>& sink) override;

  // What Configure() decided, for `fhirsync plugins` and tests: the claimed
  // types, and whether they came from the CapabilityStatement.
  const std::vector<std::string>& claimed_types() const { return types_; }
  bool narrowed_by_capability_statement() const { return narrowed_; }

 protected:
  // The configured client; null before Configure() succeeded.
  fhir::FhirClient* client() const { return client_.get(); }

 private:
  enum class WriteManyMode { kAuto, kBatch, kSingle };
  // Whether WriteMany sends a batch Bundle now.
  bool UseBatch();

  std::unique_ptr<fhir::FhirClient> client_;
  std::unique_ptr<ChangeFeed> change_feed_;  // null: no `history` operation
  std::string feed_kind_;                    // option `feed`
  std::unique_ptr<fhir::BulkExportClient> export_client_;  // null: no `export`
  std::unique_ptr<ReadClientPool> read_pool_;  // ReadMany's clients (requests in flight)
  std::vector<std::string> types_;
  std::vector<TransportOperation> operations_;
  int priority_ = kDefaultFhirPriority;
  bool narrowed_ = false;
  enum class CreateMode { kAuto, kIfNoneMatch, kReadFirst, kPlain };
  // How a create is sent now: create_mode_, or for kAuto what the server's
  // CapabilityStatement says (decided once it has been read).
  CreateMode CreateModeNow();
  // Sets create_mode_ from a kAuto by what the statement says; returns it.
  CreateMode DecideCreateMode(const fhir::FhirCapabilities& caps);
  // A create at the client's id as `mode` says.
  fhir::FhirResult CreateAt(const RemoteResource& resource, CreateMode mode);

  std::atomic<CreateMode> create_mode_{CreateMode::kAuto};  // option create_precondition
  // Types the server says it creates at a client's id (updateCreate), known
  // once create_mode_ is decided to be kReadFirst; set before it is stored.
  std::mutex create_mu_;  // guards the two below
  std::set<std::string> update_create_;
  bool update_create_known_ = false;
  WriteManyMode write_many_ = WriteManyMode::kAuto;
  // Set when the server refused a batch Bundle as such (404/405/501) although
  // it was expected to take one: later calls write one at a time.
  std::atomic<bool> batch_refused_{false};
};

}  // namespace fhirsync::fhirplugin

#endif  // FHIRSYNC_PLUGINS_FHIR_FHIR_TRANSPORT_H_
