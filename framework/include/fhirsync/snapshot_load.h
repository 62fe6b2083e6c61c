// Snapshot loading: the child side of a first sync from a snapshot
// (docs/snapshot.md). A snapshot is a FHIR Bulk Data manifest
// (fhirsync/base/bulk_manifest.h) and its NDJSON files, one resource per
// line with meta.versionId = the parent's version; it comes from the
// parent's `$export` (the `export` operation of a transport plugin) or from
// a folder `fhirsync snapshot --out DIR` wrote.
//
// LoadSnapshot streams each file line by line (memory stays flat whatever
// the snapshot's size), parses each line for its type, id and version, and
// applies the resources in large pages through LocalStore::ApplyPull, so
// each is recorded as agreed with the parent exactly as a pull records it.
// Each page's transaction also moves the parent's cursor to a "snapshot"
// position: which job, which file, how many of its bytes and lines are
// applied. A run cut anywhere (even killed) continues from there; applying
// a resource twice is harmless, since a pull is idempotent by version. The
// last transaction turns the cursor into the normal feed cursor at the
// snapshot's watermark, so the next pull reads only the changes after it.
// While a snapshot is in progress the cursor belongs to the "snapshot"
// feed, so an ordinary pull refuses to start from it (SyncPullService).
//
// Thread safety: the functions are safe to call from several threads on
// different stores; one load per store at a time.

#ifndef FHIRSYNC_SNAPSHOT_LOAD_H_
#define FHIRSYNC_SNAPSHOT_LOAD_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhirsync/base/bulk_manifest.h"
#include "fhirsync/local_store.h"
#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/status.h"
#include "fhirsync/sync_pull_service.h"
#include "fhirsync/sync_resource_manager.h"

namespace fhirsync {

// The feed kind of a cursor while a snapshot is being loaded.
inline constexpr char kSnapshotFeed[] = "snapshot";

// Where a snapshot's files are read from.
class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  // Streams `file`'s plain bytes from `from_byte` to `sink` (false stops
  // it). The source's error otherwise (kNotFound: the file is gone).
  virtual Status ReadFile(const BulkOutputFile& file, std::int64_t from_byte,
                          const std::function<bool(std::string_view)>& sink) = 0;
};

// The files of a folder (`url` is a file name in `dir`).
std::unique_ptr<SnapshotSource> FolderSnapshotSource(std::string dir);
// The files of a transport's export (TransportPlugin::ReadExportFile).
// `transport` is borrowed.
std::unique_ptr<SnapshotSource> TransportSnapshotSource(TransportPlugin* transport);

struct SnapshotLoadOptions {
  std::string parent_node_id;  // required: keys the cursor
  // The feed the cursor belongs to after the snapshot ("atom",
  // "fhir-history") and the position there right after the watermark.
  std::string feed;
  std::string feed_position;
  // Names the snapshot in the cursor: a run resumes only the same job (a
  // network export's status URL, a folder's manifest digest); another job
  // starts from its first file.
  std::string job;
  std::string transport;  // for the audit rows ("fhir", "folder")
  std::vector<std::string> types;  // files of other types are left out; empty: all
  int page_resources = 2000;       // resources per store transaction
  // The longest line accepted; a longer one fails the load naming it and
  // the limit's key.
  std::size_t max_line_bytes = 64u * 1024u * 1024u;
  std::string max_line_key = "parent.max_answer_bytes";
};

// The load's counts use PullSummary's fields (fetched = lines read; the
// outcomes as ApplyPull gave them); `snapshot_files` and `snapshot_bytes`
// are set too.
using SnapshotProgressCallback = std::function<void(const PullSummary& so_far)>;

// Loads `manifest`'s files from `source` into `store` as described above.
// InvalidArgument for bad options or a line that is not a resource (naming
// the file and line); DataLoss when a file read from its start does not
// have the manifest's size or sha256 (its last page is not applied);
// FailedPrecondition when the cursor is a feed cursor already (this node
// has pulled before) or the manifest was exported by another node than
// the parent; the source's or store's error otherwise (what was applied
// stays, and the next run continues after it).
StatusOr<PullSummary> LoadSnapshot(LocalStore* store, SnapshotSource& source,
                                   const BulkManifest& manifest,
                                   const SnapshotLoadOptions& options,
                                   const SnapshotProgressCallback& progress = nullptr);

// The job of the snapshot in progress for `parent_node_id`; nullopt when
// its cursor is absent or a feed cursor.
StatusOr<std::optional<std::string>> SnapshotJobInProgress(LocalStore* store,
                                                           const std::string& parent_node_id);

// Reads DIR/manifest.json and proves the folder whole before anything is
// loaded: every output file is a plain file name in DIR, has the manifest's
// bytes, sha256 and line count, and DIR holds no other file. DataLoss
// naming the first file that differs, is missing or is extra;
// InvalidArgument when the manifest does not parse or lacks a file's
// sha256 or size.
StatusOr<BulkManifest> VerifySnapshotFolder(const std::string& dir);

// The digest of a folder's manifest text, as the job of a folder snapshot.
StatusOr<std::string> SnapshotFolderJob(const std::string& dir);

// A first pull from the parent's snapshot, when this node never pulled from
// it (no cursor) or a snapshot is in progress, and `types` route to a
// transport offering `export`: asks it for the snapshot (the same job again
// when one is in progress), checks the manifest names the parent, and
// loads it. nullopt (nothing done) when it does not apply: a cursor
// exists, no transport offers `export`, or the export carries no watermark
// in the feed (another server's $export for an Atom feed). The error of the
// export or the load otherwise.
StatusOr<std::optional<PullSummary>> PullFromSnapshot(LocalStore* store,
                                                      const SyncResourceManager& manager,
                                                      const PullOptions& options,
                                                      std::size_t max_line_bytes,
                                                      const SnapshotProgressCallback& progress);

}  // namespace fhirsync

#endif  // FHIRSYNC_SNAPSHOT_LOAD_H_
