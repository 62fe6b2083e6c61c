// fhirsync snapshot: the node's current resources as a FHIR Bulk Data
// folder (NDJSON files and manifest.json), to carry to a new child
// (docs/snapshot.md).

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "command.h"
#include "fhirsync/base/bulk_manifest.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/private_file.h"
#include "fhirsync/snapshot.h"
#include "node.h"
#include "output.h"
#include "progress.h"

namespace fhirsync::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kHelp[] =
    "usage: fhirsync snapshot --out DIR [--type T,..] [--base-url URL] [--json] [--dir D]\n"
    "\n"
    "Writes a consistent snapshot of the node's current (not deleted) FHIR resources\n"
    "into the new folder DIR: one NDJSON file per type (<type>-<n>.ndjson, split every\n"
    "50,000 resources) and manifest.json, a FHIR Bulk Data export manifest with each\n"
    "file's SHA-256 and size and the change-feed watermark the snapshot is consistent\n"
    "with. A new child loads it with `init --from-snapshot DIR`, then follows the feed\n"
    "from the watermark. manifest.json is written last: a folder without it is not a\n"
    "snapshot. Refuses a DIR that exists and is not empty. Progress on a terminal.\n"
    "\n"
    "  --out DIR       the folder to write (created, readable by its owner only)\n"
    "  --type T,..     only these FHIR resource types (comma-separated; default: every\n"
    "                  FHIR type the node holds); a child subscribing to these types\n"
    "                  asks the feed for the same ones\n"
    "  --base-url URL  the URL children reach this node at (http://host:port), so the\n"
    "                  manifest's Atom page URL is absolute (default: relative, /feed/N)\n"
    "  --json          print {out, manifest, watermark_seq, resources,\n"
    "                  files: [{file, type, count, bytes, sha256}]}\n"
    "  --dir D         the node folder (default: $FHIRSYNC_DIR or .)\n";

// The folder --out names, made private; FailedPrecondition when it exists
// and holds something.
Status PrepareOut(const std::string& out, bool* created) {
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec)) {
      return FailedPreconditionError("--out " + out + " exists and is not a folder");
    }
    if (!fs::is_empty(out, ec)) {
      return FailedPreconditionError("--out " + out +
                                     " exists and is not empty (a snapshot needs a new or "
                                     "empty folder)");
    }
    *created = false;
    if (::chmod(out.c_str(), 0700) != 0) {
      return UnavailableError(out + ": cannot make it private: " + std::strerror(errno));
    }
    return Status::Ok();
  }
  if (::mkdir(out.c_str(), 0700) != 0) {
    return UnavailableError("--out " + out + ": cannot create: " + std::strerror(errno));
  }
  *created = true;
  return Status::Ok();
}

int RunSnapshot(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool json = false;
  std::string out;
  std::string types;
  std::string base_url;
  cl.flags().AddString("out", "DIR", &out);
  cl.flags().AddString("type", "T,..", &types);
  cl.flags().AddString("base-url", "URL", &base_url);
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(0, 0)) return *exit;
  if (out.empty()) return cl.UsageError("--out DIR is required");
  SnapshotOptions options;
  options.types = SplitList(types);
  if (cl.Seen("type") && options.types.empty()) return cl.UsageError("--type: no type given");
  for (const std::string& type : options.types) {
    if (Status st = ValidateResourceType(type); !st.ok()) {
      return cl.UsageError("--type: '" + EscapeForMessage(type) + "' is not a FHIR resource type");
    }
  }
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  if (cl.Seen("base-url") && base_url.rfind("http://", 0) != 0 &&
      base_url.rfind("https://", 0) != 0) {
    return cl.UsageError("--base-url: '" + EscapeForMessage(base_url) +
                         "' is not an http:// or https:// URL");
  }

  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  bool created = false;
  if (Status prepared = PrepareOut(out, &created); !prepared.ok()) return cl.Fail(prepared);

  options.node_id = (*node)->config().node_id;
  options.base_url = base_url;
  options.feed_page_size = (*node)->config().server.feed_page_size;
  options.request = "fhirsync snapshot";
  std::unique_ptr<ProgressMeter> counted;  // made once the count is known
  options.on_progress = [&](const SnapshotProgress& progress) {
    if (!counted) counted = std::make_unique<ProgressMeter>("snapshot", progress.expected);
    counted->Update(progress.written);
    return Status::Ok();
  };
  FolderSnapshotSink sink({out, nullptr, /*gzip_copy=*/false});
  StatusOr<BulkManifest> manifest = WriteSnapshot((*node)->store(), options, sink);
  Status written = manifest.ok() ? WritePrivateFile(out + "/manifest.json",
                                                    WriteBulkManifest(*manifest))
                                 : manifest.status();
  if (counted) counted->Clear();
  if (!written.ok()) {
    // What was written is no snapshot: leave no half of one behind.
    std::error_code ec;
    for (const std::string& name : sink.file_names()) fs::remove(out + "/" + name, ec);
    if (created) fs::remove(out, ec);
    return cl.Fail(written);
  }

  std::int64_t resources = 0;
  for (const BulkOutputFile& file : manifest->output) resources += file.count;
  if (json) {
    JsonOutput o;
    o.StartObject();
    o.Field("out", out);
    o.Field("manifest", out + "/manifest.json");
    o.Field("watermark_seq", manifest->fhirsync.watermark_seq);
    o.Field("resources", resources);
    o.Key("files");
    o.StartArray();
    for (const BulkOutputFile& file : manifest->output) {
      o.StartObject();
      o.Field("file", file.url);
      o.Field("type", file.type);
      o.Field("count", file.count);
      o.Field("bytes", file.bytes);
      o.Field("sha256", file.sha256);
      o.EndObject();
    }
    o.EndArray();
    o.EndObject();
    o.Print();
    return kExitOk;
  }
  for (const BulkOutputFile& file : manifest->output) {
    std::cout << file.url << "  " << file.count << " " << file.type << ", " << file.bytes
              << " bytes\n";
  }
  std::cout << "snapshot of node " << options.node_id << " at change " <<
      manifest->fhirsync.watermark_seq << ": " << resources << " resources in "
            << manifest->output.size() << " files, " << out << "/manifest.json\n";
  return kExitOk;
}

}  // namespace

extern const Command kSnapshotCommand = {
    "snapshot", "write the node's current resources as a Bulk Data folder for a new child",
    kHelp, &RunSnapshot};

}  // namespace fhirsync::cli
