#include "fhirsync/snapshot_load.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <utility>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "fhirsync/audit_log.h"
#include "fhirsync/base/text_util.h"

namespace fhirsync {
namespace {

namespace fs = std::filesystem;
constexpr char kManifestFile[] = "manifest.json";

// Where a load stands: the cursor's position while the feed is "snapshot".
struct SnapshotPosition {
  std::string job;
  std::int64_t file = 0;    // index into manifest.output
  std::int64_t offset = 0;  // bytes of that file applied (whole lines)
  std::int64_t line = 0;    // lines of that file applied
};

std::string EncodePosition(const SnapshotPosition& p) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("job");
  w.String(p.job.c_str(), static_cast<rapidjson::SizeType>(p.job.size()));
  w.Key("file");
  w.Int64(p.file);
  w.Key("offset");
  w.Int64(p.offset);
  w.Key("line");
  w.Int64(p.line);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

StatusOr<SnapshotPosition> DecodePosition(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  auto bad = [&] {
    return InvalidArgumentError("the snapshot cursor '" + EscapeForMessage(text, 200) +
                                "' was not written by this loader");
  };
  if (doc.HasParseError() || !doc.IsObject()) return bad();
  auto job = doc.FindMember("job");
  auto file = doc.FindMember("file");
  auto offset = doc.FindMember("offset");
  auto line = doc.FindMember("line");
  if (job == doc.MemberEnd() || !job->value.IsString() || file == doc.MemberEnd() ||
      !file->value.IsInt64() || offset == doc.MemberEnd() || !offset->value.IsInt64() ||
      line == doc.MemberEnd() || !line->value.IsInt64()) {
    return bad();
  }
  SnapshotPosition p;
  p.job.assign(job->value.GetString(), job->value.GetStringLength());
  p.file = file->value.GetInt64();
  p.offset = offset->value.GetInt64();
  p.line = line->value.GetInt64();
  if (p.file < 0 || p.offset < 0 || p.line < 0) return bad();
  return p;
}

std::int64_t ElapsedMs(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - start)
      .count();
}

class FolderSource : public SnapshotSource {
 public:
  explicit FolderSource(std::string dir) : dir_(std::move(dir)) {}
  Status ReadFile(const BulkOutputFile& file, std::int64_t from_byte,
                  const std::function<bool(std::string_view)>& sink) override {
    const std::string path = (fs::path(dir_) / file.url).string();
    std::ifstream in(path, std::ios::binary);
    if (!in) return NotFoundError(path + ": cannot open");
    in.seekg(from_byte);
    if (!in) return DataLossError(path + ": shorter than " + std::to_string(from_byte) + " bytes");
    std::string buffer(1 << 20, '\0');
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      const std::size_t got = static_cast<std::size_t>(in.gcount());
      if (got == 0) break;
      if (!sink(std::string_view(buffer.data(), got))) {
        return Status(StatusCode::kCancelled, path + ": reading stopped");
      }
    }
    if (in.bad()) return UnavailableError(path + ": read error");
    return Status::Ok();
  }

 private:
  const std::string dir_;
};

class TransportSource : public SnapshotSource {
 public:
  explicit TransportSource(TransportPlugin* transport) : transport_(transport) {}
  Status ReadFile(const BulkOutputFile& file, std::int64_t from_byte,
                  const std::function<bool(std::string_view)>& sink) override {
    return transport_->ReadExportFile(file.url, from_byte, sink).status;
  }

 private:
  TransportPlugin* const transport_;
};

// One file's load: cuts the byte stream into lines, parses each once,
// applies pages.
class FileLoader {
 public:
  FileLoader(LocalStore* store, const SnapshotLoadOptions& options, const BulkOutputFile& file,
             SnapshotPosition position, PullSummary& summary,
             const SnapshotProgressCallback& progress)
      : store_(store),
        options_(options),
        file_(file),
        position_(std::move(position)),
        summary_(summary),
        progress_(progress),
        hash_whole_(position_.offset == 0) {}

  // Takes the next bytes; false after an error (error()).
  bool Take(std::string_view chunk) {
    if (hash_whole_) hash_.Update(chunk);
    received_ += static_cast<std::int64_t>(chunk.size());
    summary_.snapshot_bytes += static_cast<std::int64_t>(chunk.size());
    while (!chunk.empty()) {
      const std::size_t newline = chunk.find('\n');
      const std::string_view piece = chunk.substr(0, newline);
      if (partial_.size() + piece.size() > options_.max_line_bytes) {
        error_ = InvalidArgumentError(
            "snapshot file " + EscapeForMessage(file_.url, 200) + " line " +
            std::to_string(position_.line + pending_lines_ + 1) + " is longer than the limit of " +
            std::to_string(options_.max_line_bytes) + " bytes (" + options_.max_line_key + ")");
        return false;
      }
      if (newline == std::string_view::npos) {
        partial_.append(piece);
        return true;
      }
      std::string line;
      if (partial_.empty()) {
        line.assign(piece);
      } else {
        line = std::move(partial_);
        line.append(piece);
        partial_.clear();
      }
      chunk.remove_prefix(newline + 1);
      pending_bytes_ += static_cast<std::int64_t>(line.size()) + 1;
      ++pending_lines_;
      if (!AddLine(std::move(line))) return false;
      if (static_cast<int>(page_.resources.size()) >= options_.page_resources) {
        if (!Flush(false)) return false;
      }
    }
    return true;
  }

  // After the last byte: checks the file against the manifest and applies
  // the rest.
  Status Finish() {
    if (!partial_.empty()) {
      std::string line = std::move(partial_);
      partial_.clear();
      pending_bytes_ += static_cast<std::int64_t>(line.size());
      ++pending_lines_;
      if (!AddLine(std::move(line))) return error_;
    }
    const std::int64_t total = position_.offset + pending_bytes_;
    if (file_.bytes >= 0 && total != file_.bytes) {
      return DataLossError("snapshot file " + EscapeForMessage(file_.url, 200) + " has " +
                           std::to_string(total) + " bytes, its manifest says " +
                           std::to_string(file_.bytes));
    }
    if (hash_whole_ && !file_.sha256.empty() && hash_.HexDigest() != file_.sha256) {
      return DataLossError("snapshot file " + EscapeForMessage(file_.url, 200) +
                           " does not have the sha256 its manifest gives");
    }
    if (!Flush(true)) return error_;
    return Status::Ok();
  }

  const Status& error() const { return error_; }
  std::int64_t received() const { return received_; }

 private:
  bool AddLine(std::string line) {
    // Blank lines (a trailing newline, CRLF) carry nothing.
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) return true;
    const std::int64_t line_no = position_.line + pending_lines_;
    ++summary_.entries;
    ++summary_.fetched;
    rapidjson::Document doc;
    doc.Parse(line.data(), line.size());
    auto refuse = [&](const std::string& why) {
      error_ = InvalidArgumentError("snapshot file " + EscapeForMessage(file_.url, 200) +
                                    " line " + std::to_string(line_no) + ": " + why);
      return false;
    };
    if (doc.HasParseError() || !doc.IsObject()) return refuse("not a JSON object");
    auto type = doc.FindMember("resourceType");
    auto id = doc.FindMember("id");
    if (type == doc.MemberEnd() || !type->value.IsString() || id == doc.MemberEnd() ||
        !id->value.IsString()) {
      return refuse("a resource needs resourceType and id");
    }
    PulledResource resource;
    resource.type.assign(type->value.GetString(), type->value.GetStringLength());
    if (resource.type != file_.type) {
      return refuse("a " + EscapeForMessage(resource.type, 60) + " in the file of " + file_.type);
    }
    resource.id.assign(id->value.GetString(), id->value.GetStringLength());
    auto meta = doc.FindMember("meta");
    if (meta != doc.MemberEnd() && meta->value.IsObject()) {
      auto version = meta->value.FindMember("versionId");
      if (version != meta->value.MemberEnd() && version->value.IsString()) {
        resource.remote_version.assign(version->value.GetString(),
                                       version->value.GetStringLength());
      }
    }
    resource.format = ResourceFormat::kFhirJson;
    resource.body = std::move(line);
    page_.resources.push_back(std::move(resource));
    return true;
  }

  // Applies the page with the cursor after it (after the file: at the
  // next file's start).
  bool Flush(bool end_of_file) {
    SnapshotPosition next = position_;
    if (end_of_file) {
      next.file += 1;
      next.offset = 0;
      next.line = 0;
    } else {
      next.offset += pending_bytes_;
      next.line += pending_lines_;
    }
    page_.parent_node_id = options_.parent_node_id;
    page_.feed = kSnapshotFeed;
    page_.position = EncodePosition(next);
    page_.transport = options_.transport;
    StatusOr<std::vector<PulledResult>> results = store_->ApplyPull(page_);
    if (!results.ok()) {
      error_ = results.status().WithContext("applying snapshot file " +
                                            EscapeForMessage(file_.url, 200));
      return false;
    }
    ++summary_.pages;
    for (const PulledResult& result : *results) {
      switch (result.outcome) {
        case PullOutcome::kApplied: ++summary_.applied; break;
        case PullOutcome::kUnchanged: ++summary_.unchanged; break;
        case PullOutcome::kSkipped: ++summary_.skipped; break;
        case PullOutcome::kConflict: ++summary_.conflicts; break;
        case PullOutcome::kRejected: ++summary_.rejected; break;
      }
    }
    position_ = std::move(next);
    pending_bytes_ = 0;
    pending_lines_ = 0;
    page_.resources.clear();
    if (progress_) progress_(summary_);
    return true;
  }

  LocalStore* const store_;
  const SnapshotLoadOptions& options_;
  const BulkOutputFile& file_;
  SnapshotPosition position_;
  PullSummary& summary_;
  const SnapshotProgressCallback& progress_;
  const bool hash_whole_;
  Sha256Stream hash_;
  std::string partial_;
  std::int64_t received_ = 0;
  std::int64_t pending_bytes_ = 0;  // bytes of the lines in page_ (and blank ones)
  std::int64_t pending_lines_ = 0;
  PullPage page_;
  Status error_;
};

}  // namespace

std::unique_ptr<SnapshotSource> FolderSnapshotSource(std::string dir) {
  return std::make_unique<FolderSource>(std::move(dir));
}

std::unique_ptr<SnapshotSource> TransportSnapshotSource(TransportPlugin* transport) {
  return std::make_unique<TransportSource>(transport);
}

StatusOr<std::optional<std::string>> SnapshotJobInProgress(LocalStore* store,
                                                           const std::string& parent_node_id) {
  FHIRSYNC_ASSIGN_OR_RETURN(std::optional<PullCursor> cursor, store->GetCursor(parent_node_id));
  if (!cursor || cursor->feed != kSnapshotFeed) return std::optional<std::string>();
  FHIRSYNC_ASSIGN_OR_RETURN(SnapshotPosition position, DecodePosition(cursor->position));
  return std::optional<std::string>(position.job);
}

StatusOr<PullSummary> LoadSnapshot(LocalStore* store, SnapshotSource& source,
                                   const BulkManifest& manifest,
                                   const SnapshotLoadOptions& options,
                                   const SnapshotProgressCallback& progress) {
  const auto start = std::chrono::steady_clock::now();
  if (options.parent_node_id.empty() || options.feed.empty() || options.feed_position.empty()) {
    return InvalidArgumentError(
        "snapshot: the parent's node id, its feed and the position after the watermark are "
        "required");
  }
  if (options.page_resources < 1 || options.max_line_bytes < 1) {
    return InvalidArgumentError("snapshot: page_resources and max_line_bytes must be positive");
  }
  if (manifest.has_fhirsync && manifest.fhirsync.node_id != options.parent_node_id) {
    return FailedPreconditionError("the snapshot was exported by node '" +
                                   EscapeForMessage(manifest.fhirsync.node_id) +
                                   "', not by this node's parent '" +
                                   EscapeForMessage(options.parent_node_id) + "'");
  }
  SnapshotPosition position;
  position.job = options.job;
  FHIRSYNC_ASSIGN_OR_RETURN(std::optional<PullCursor> cursor,
                            store->GetCursor(options.parent_node_id));
  if (cursor && cursor->feed != kSnapshotFeed) {
    return FailedPreconditionError(
        "this node has pulled from '" + EscapeForMessage(options.parent_node_id) +
        "' before (its cursor is in the '" + EscapeForMessage(cursor->feed) +
        "' feed); a snapshot is only loaded before the first pull");
  }
  PullSummary summary;
  summary.from_snapshot = true;
  if (cursor) {
    FHIRSYNC_ASSIGN_OR_RETURN(SnapshotPosition held, DecodePosition(cursor->position));
    // Another job's files are other files: start this one from its first.
    if (held.job == options.job) position = held;
  }
  const std::set<std::string> wanted(options.types.begin(), options.types.end());
  for (std::size_t i = static_cast<std::size_t>(position.file); i < manifest.output.size(); ++i) {
    const BulkOutputFile& file = manifest.output[i];
    SnapshotPosition at = position;
    at.file = static_cast<std::int64_t>(i);
    if (static_cast<std::int64_t>(i) != position.file) {
      at.offset = 0;
      at.line = 0;
    }
    if (!wanted.empty() && wanted.count(file.type) == 0) continue;
    ++summary.snapshot_files;
    FileLoader loader(store, options, file, at, summary, progress);
    Status read = source.ReadFile(file, at.offset,
                                  [&](std::string_view chunk) { return loader.Take(chunk); });
    if (!loader.error().ok()) return loader.error();
    FHIRSYNC_RETURN_IF_ERROR(read.WithContext("reading snapshot file " +
                                              EscapeForMessage(file.url, 200)));
    FHIRSYNC_RETURN_IF_ERROR(loader.Finish());
    summary.elapsed_ms = ElapsedMs(start);
  }

  // The end: the cursor becomes the feed's, at the watermark.
  PullPage done;
  done.parent_node_id = options.parent_node_id;
  done.feed = options.feed;
  done.position = options.feed_position;
  done.transport = options.transport;
  AuditRecord row;
  row.operation = "pull-snapshot";
  row.transport = options.transport;
  row.outcome = "ok";
  row.message = "loaded a snapshot of " + std::to_string(summary.snapshot_files) + " files";
  if (manifest.has_fhirsync) {
    row.message += " at the parent's change " + std::to_string(manifest.fhirsync.watermark_seq);
  }
  row.message += " (exported " + EscapeForMessage(manifest.transaction_time, 40) +
                 "); the " + options.feed + " feed continues at " +
                 EscapeForMessage(options.feed_position, 200);
  done.audit.push_back(std::move(row));
  FHIRSYNC_RETURN_IF_ERROR(store->ApplyPull(done).status());
  summary.elapsed_ms = ElapsedMs(start);
  return summary;
}

StatusOr<std::string> SnapshotFolderJob(const std::string& dir) {
  const std::string path = (fs::path(dir) / kManifestFile).string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot read (not a snapshot folder?)");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return "folder:" + Sha256Hex(text);
}

StatusOr<BulkManifest> VerifySnapshotFolder(const std::string& dir) {
  const std::string path = (fs::path(dir) / kManifestFile).string();
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) return NotFoundError(path + ": cannot read (not a snapshot folder?)");
  if (size > kMaxBulkManifestBytes) {
    return InvalidArgumentError(path + " is larger than the limit of " +
                                std::to_string(kMaxBulkManifestBytes) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  StatusOr<BulkManifest> manifest = ParseBulkManifest(text);
  if (!manifest.ok()) return manifest.status().WithContext(path);
  std::set<std::string> listed{kManifestFile};
  for (const BulkOutputFile& file : manifest->output) {
    const std::string named = EscapeForMessage(file.url, 200);
    if (file.url.empty() || file.url.find('/') != std::string::npos || file.url == "." ||
        file.url == ".." || file.url == kManifestFile) {
      return InvalidArgumentError(path + ": output file '" + named +
                                  "' is not a file name in the folder");
    }
    if (file.sha256.empty() || file.bytes < 0) {
      return InvalidArgumentError(path + ": output file '" + named +
                                  "' has no sha256 or bytes, so the folder cannot be proven "
                                  "whole");
    }
    if (!listed.insert(file.url).second) {
      return InvalidArgumentError(path + ": output file '" + named + "' is listed twice");
    }
    const std::string file_path = (fs::path(dir) / file.url).string();
    std::ifstream data(file_path, std::ios::binary);
    if (!data) return DataLossError("snapshot file " + named + " is missing from " + dir);
    Sha256Stream hash;
    std::int64_t bytes = 0;
    std::int64_t lines = 0;
    bool in_line = false;
    std::string buffer(1 << 20, '\0');
    while (data) {
      data.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      const std::size_t got = static_cast<std::size_t>(data.gcount());
      if (got == 0) break;
      const std::string_view piece(buffer.data(), got);
      hash.Update(piece);
      bytes += static_cast<std::int64_t>(got);
      for (char c : piece) {
        if (c == '\n') {
          if (in_line) ++lines;
          in_line = false;
        } else if (c != '\r' && c != ' ' && c != '\t') {
          in_line = true;
        }
      }
    }
    if (in_line) ++lines;
    if (bytes != file.bytes) {
      return DataLossError("snapshot file " + named + " has " + std::to_string(bytes) +
                           " bytes, the manifest says " + std::to_string(file.bytes));
    }
    if (hash.HexDigest() != file.sha256) {
      return DataLossError("snapshot file " + named +
                           " does not have the sha256 the manifest gives (changed or damaged)");
    }
    if (file.count >= 0 && lines != file.count) {
      return DataLossError("snapshot file " + named + " holds " + std::to_string(lines) +
                           " resources, the manifest says " + std::to_string(file.count));
    }
  }
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (listed.count(name) == 0) {
      return DataLossError("snapshot folder " + dir + " holds '" + EscapeForMessage(name, 200) +
                           "', which its manifest does not list");
    }
  }
  if (ec) return UnavailableError(dir + ": cannot list: " + ec.message());
  return std::move(*manifest);
}

StatusOr<std::optional<PullSummary>> PullFromSnapshot(LocalStore* store,
                                                      const SyncResourceManager& manager,
                                                      const PullOptions& options,
                                                      std::size_t max_line_bytes,
                                                      const SnapshotProgressCallback& progress) {
  using Result = std::optional<PullSummary>;
  FHIRSYNC_ASSIGN_OR_RETURN(std::optional<PullCursor> cursor,
                            store->GetCursor(options.parent_node_id));
  std::string job;
  if (cursor) {
    if (cursor->feed != kSnapshotFeed) return Result();
    FHIRSYNC_ASSIGN_OR_RETURN(SnapshotPosition held, DecodePosition(cursor->position));
    job = held.job;
  }
  // The transport offering `export` for the subscribed types (one for all).
  std::optional<Route> route;
  std::vector<std::string> probe = options.types;
  if (probe.empty()) {
    for (const PluginDescription& plugin : manager.plugins()) {
      const auto& ops = plugin.capabilities.operations;
      if (std::find(ops.begin(), ops.end(), TransportOperation::kExport) == ops.end()) continue;
      for (const std::string& type : plugin.capabilities.resource_types) {
        probe.push_back(type == kAnyResourceType ? "Patient" : type);
      }
      break;
    }
    if (probe.empty()) return Result();
  }
  for (const std::string& type : probe) {
    StatusOr<Route> found = manager.Find(type, TransportOperation::kExport);
    if (!found.ok() || (route && route->plugin != found->plugin)) return Result();
    route = std::move(*found);
  }
  if (!route) return Result();
  ExportResult exported = route->transport->StartExport(options.types, job);
  if (!exported.status.ok()) {
    const StatusCode code = exported.status.code();
    const bool away_or_refused =
        code == StatusCode::kUnavailable || code == StatusCode::kDeadlineExceeded ||
        code == StatusCode::kUnauthenticated || code == StatusCode::kPermissionDenied;
    // A parent without `$export` (an older fhirsync, a FHIR server without
    // Bulk Data) answers the kick-off with anything but 202: a first pull
    // then walks the feed, as it always did. A snapshot in progress cannot
    // be left that way (the cursor is the snapshot's).
    if (job.empty() && !away_or_refused) {
      AuditRecord row;
      row.operation = "pull-snapshot";
      row.transport = route->plugin;
      row.outcome = "skipped";
      row.http_status = exported.http_status;
      row.message = "the parent gave no snapshot (" + exported.status.message() +
                    "); the feed is read from its start";
      AuditLog(store).Append(row).status().IgnoreError();
      return Result();
    }
    return exported.status.WithContext("asking '" + route->plugin + "' for a snapshot");
  }
  if (exported.feed_position.empty()) return Result();
  StatusOr<BulkManifest> manifest = ParseBulkManifest(exported.manifest);
  if (!manifest.ok()) return manifest.status().WithContext("the snapshot's manifest");
  std::unique_ptr<SnapshotSource> source = TransportSnapshotSource(route->transport.get());
  SnapshotLoadOptions load;
  load.parent_node_id = options.parent_node_id;
  load.feed = options.feed;
  load.feed_position = exported.feed_position;
  load.job = exported.job;
  load.transport = route->plugin;
  load.types = options.types;
  load.max_line_bytes = max_line_bytes;
  FHIRSYNC_ASSIGN_OR_RETURN(PullSummary summary,
                            LoadSnapshot(store, *source, *manifest, load, progress));
  return Result(std::move(summary));
}

}  // namespace fhirsync
