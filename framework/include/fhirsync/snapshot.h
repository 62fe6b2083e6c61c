// A consistent snapshot of a node's current resources, as FHIR Bulk Data
// NDJSON files and their manifest (fhirsync/base/bulk_manifest.h): what
// `GET /fhir/$export` serves and `fhirsync snapshot --out DIR` writes
// (docs/snapshot.md).
//
// Consistency without a long read transaction: the store's last change seq
// W is read FIRST, then each type is scanned in pages by id. Every resource
// is written as the version current when its page is read, which is the
// version it had at W or a later one; a change after W is in the feed after
// W, so a child that loads the snapshot and then follows the feed from W
// misses nothing, and a version it already holds is skipped (pulls are
// idempotent by version). Deletes are not in a snapshot: it is for a first
// sync only.
//
// Thread safety: WriteSnapshot may run on any thread and reads the store
// (thread-safe) only; a sink is used by one snapshot at a time.

#ifndef FHIRSYNC_SNAPSHOT_H_
#define FHIRSYNC_SNAPSHOT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhirsync/base/bulk_manifest.h"
#include "fhirsync/local_store.h"
#include "fhirsync/status.h"

namespace fhirsync {

// Where a snapshot's files go, one after another: Begin, Append..., End.
class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  // Starts the snapshot's `index`-th file (1-based over the whole snapshot),
  // the `part`-th of `type`. Returns the URL the manifest names it by.
  virtual StatusOr<std::string> Begin(const std::string& type, int index, int part) = 0;
  virtual Status Append(std::string_view bytes) = 0;
  virtual Status End() = 0;
};

// Writes each file into a folder (which must exist) as `<type>-<part>.ndjson`
// ("Patient-1.ndjson"), mode 0600; with gzip_copy also its gzip form
// `<type>-<part>.ndjson.gz` beside it, written as it goes (what a server
// sends to a client that accepts gzip). Unavailable naming the file on an
// I/O error.
class FolderSnapshotSink : public SnapshotSink {
 public:
  struct Options {
    std::string dir;
    // The manifest URL of file `index` named `file_name`; unset: the bare
    // file name (a folder's manifest).
    std::function<std::string(int index, const std::string& file_name)> url_of;
    bool gzip_copy = false;
  };
  explicit FolderSnapshotSink(Options options);
  ~FolderSnapshotSink() override;
  FolderSnapshotSink(const FolderSnapshotSink&) = delete;
  FolderSnapshotSink& operator=(const FolderSnapshotSink&) = delete;

  StatusOr<std::string> Begin(const std::string& type, int index, int part) override;
  Status Append(std::string_view bytes) override;
  Status End() override;

  // The names of the files begun so far, in index order (file i+1 is
  // file_names()[i]).
  const std::vector<std::string>& file_names() const { return names_; }

  // "Patient-1.ndjson"
  static std::string FileName(const std::string& type, int part);

 private:
  struct Open;
  Options options_;
  std::vector<std::string> names_;
  std::unique_ptr<Open> open_;
};

// Where a snapshot stands, for progress and for a test holding it still.
struct SnapshotProgress {
  std::int64_t watermark_seq = 0;
  std::string type;                // the type being written; "" before the first
  std::int64_t written = 0;        // resources written so far, every type
  std::int64_t expected = 0;       // live resources of the types when it began
};

struct SnapshotOptions {
  std::string node_id;  // the exporting node (manifest and Atom entry id)
  // FHIR resource types; empty: every FHIR type the store holds (OpenMRS
  // REST representations are not FHIR and are left out).
  std::vector<std::string> types;
  // Only resources last updated at or after this time (FHIR _since).
  std::optional<std::int64_t> since_ms;
  // The node's base URL as its children reach it ("https://host:port"), for
  // the Atom page URL of the watermark; "" gives a URL relative to it
  // ("/feed/60?types=Patient").
  std::string base_url;
  std::int64_t feed_page_size = 100;      // server.feed_page_size
  std::int64_t resources_per_file = 50000;  // a type's files are split at this
  std::int64_t scan_page = 1000;          // resources read from the store at once
  std::string request;                    // the manifest's `request`
  bool requires_access_token = false;
  // Called once the watermark is taken (written 0) and after each page is
  // written. A status that is not OK stops the snapshot with that status
  // (a cancelled job; a test holding the snapshot while it writes).
  std::function<Status(const SnapshotProgress&)> on_progress;
};

// Writes the snapshot into `sink` and returns its manifest (transactionTime:
// the time the watermark was taken). InvalidArgument naming a type that is
// not a FHIR resource type, or bad sizes; the store's or the sink's error,
// or on_progress's, otherwise (files already begun are the caller's to
// remove).
StatusOr<BulkManifest> WriteSnapshot(LocalStore& store, const SnapshotOptions& options,
                                     SnapshotSink& sink);

}  // namespace fhirsync

#endif  // FHIRSYNC_SNAPSHOT_H_
