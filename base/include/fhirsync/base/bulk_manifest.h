// BulkManifest: the manifest of a snapshot, in the shape of a FHIR Bulk Data
// export's completion answer (https://hl7.org/fhir/uv/bulkdata/export.html,
// "Response - Complete Status"). One format serves three places:
// - a fhirsync parent's `$export` status URL answers with it (file URLs
//   absolute);
// - `fhirsync snapshot --out DIR` writes it as DIR/manifest.json (file URLs
//   relative to DIR: a bare file name);
// - a child reads it from either, or from any other FHIR server's `$export`
//   (which carries no fhirsync extension).
//
// What fhirsync adds, under the `extension` objects the Bulk Data manifest
// allows (a server that knows nothing of them ignores them):
//   top level, "fhirsync": the exporting node, the change-feed watermark the
//     snapshot is consistent with, and where that watermark sits in the
//     node's Atom feed (so a child continues from there, missing nothing and
//     reading nothing twice).
//   each output file: its SHA-256 and size in bytes, so a folder carried on
//     a stick can be proven whole before it is loaded.
//
// Thread safety: pure functions.

#ifndef FHIRSYNC_BASE_BULK_MANIFEST_H_
#define FHIRSYNC_BASE_BULK_MANIFEST_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fhirsync/status.h"

namespace fhirsync {

// The largest manifest text ParseBulkManifest reads, and the most output
// files it accepts: far above a real export (one file per type, a few per
// type on big servers), far below what would exhaust memory.
inline constexpr std::size_t kMaxBulkManifestBytes = 4 * 1024 * 1024;
inline constexpr std::size_t kMaxBulkManifestFiles = 10000;

// One NDJSON file of the export: one resource of `type` per line.
struct BulkOutputFile {
  std::string type;
  std::string url;  // absolute (a server's) or a file name (a folder's)
  std::int64_t count = -1;  // resources in the file; -1: not given
  // fhirsync's extension; empty / -1 when the exporter gave none.
  std::string sha256;       // lowercase hex of the file's bytes (not gzipped)
  std::int64_t bytes = -1;  // the file's size in bytes (not gzipped)
  friend bool operator==(const BulkOutputFile&, const BulkOutputFile&) = default;
};

// Where the exporting fhirsync node's change feed stood when the snapshot
// was cut: every change with seq <= watermark_seq is in the snapshot (as
// the resource's version current at that point, or a later one), none after
// it need be. A reader continues from the feed right after it.
struct BulkFeedWatermark {
  std::string node_id;           // the exporting node's id
  std::int64_t watermark_seq = 0;
  // The Atom feed position of the watermark: the page holding change
  // `watermark_seq` (its stable URL, as the feed's own links write it) and
  // that change's entry id. Both empty when watermark_seq is 0 (an empty
  // node: the feed is read from its start).
  std::string atom_page_url;
  std::string atom_entry_id;
  friend bool operator==(const BulkFeedWatermark&, const BulkFeedWatermark&) = default;
};

struct BulkManifest {
  std::string transaction_time;  // FHIR instant; required
  std::string request;           // the kick-off URL
  bool requires_access_token = false;
  std::vector<BulkOutputFile> output;
  std::vector<BulkOutputFile> error;  // OperationOutcome files
  // Present only when a fhirsync node exported (has_fhirsync).
  bool has_fhirsync = false;
  BulkFeedWatermark fhirsync;
  friend bool operator==(const BulkManifest&, const BulkManifest&) = default;
};

// Parses a manifest. InvalidArgument naming the problem for text that is
// not JSON, too big or too deep, not an object, without `transactionTime`
// or `output`, with an output entry lacking `type` or `url`, a type that is
// not a resource type name, a count or size below 0, a sha256 that is not 64
// hex digits, or more than kMaxBulkManifestFiles files.
StatusOr<BulkManifest> ParseBulkManifest(std::string_view text);

// The manifest as JSON text (keys in the Bulk Data spec's names; the
// fhirsync extensions only where set). ParseBulkManifest(Write(m)) == m.
std::string WriteBulkManifest(const BulkManifest& manifest);

}  // namespace fhirsync

#endif  // FHIRSYNC_BASE_BULK_MANIFEST_H_
