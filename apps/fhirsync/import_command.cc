// fhirsync import: bulk-loads FHIR NDJSON files.
//
// Two passes over each file, both streaming line by line: the first checks
// every line and counts them (which also gives the progress display its
// total), the second writes them in batches, one transaction each. Checking
// everything first is what makes "a bad line writes nothing" true for every
// file on the command line, not just for the batch the bad line falls in.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string_view>
#include <vector>

#include "command.h"
#include "fhirsync/local_store.h"
#include "line_reader.h"
#include "node.h"
#include "output.h"
#include "progress.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync import FILE.ndjson... [--batch N] [--json] [--dir D]\n"
    "\n"
    "Imports FHIR R4 resources from NDJSON files (one resource per line, as FHIR\n"
    "Bulk Data exports them). Blank lines are skipped. Files are read line by line,\n"
    "never whole, so they may be of any size.\n"
    "\n"
    "First every line of every file is checked (valid JSON, a resourceType, a valid\n"
    "id, within store.max_body_bytes). Any bad line is reported as\n"
    "'FILE:LINE: problem' and then NOTHING is imported, from any file: fix the line\n"
    "and run the same command again. Then the resources are written in batches of\n"
    "N, each batch one transaction, so there is never a partial batch. Should the\n"
    "store fail part-way (a full disk), the batches before stay written and the\n"
    "error names the lines of the failed batch; re-running is safe, since a resource\n"
    "whose content is unchanged gets no new version. A line without an id gets a\n"
    "new UUID (then a re-run would add it again).\n"
    "\n"
    "On a terminal, stderr shows progress: count, rate, ETA. A summary follows.\n"
    "\n"
    "  --batch N   resources per transaction (default 1000)\n"
    "  --json      print the summary as {files: [{file, resources, written,\n"
    "              unchanged}], resources, written, unchanged, seconds, per_second}\n"
    "  --dir D     the node folder (default: $FHIRSYNC_DIR or .)\n";

constexpr std::size_t kMaxReportedBadLines = 20;

struct FileSummary {
  std::string path;
  std::int64_t resources = 0;
  std::int64_t written = 0;
  std::int64_t unchanged = 0;
};

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r") == std::string_view::npos;
}

// A problem with one line, or an empty string when the line is fine. On
// success fills `info`.
std::string CheckLine(const LineReader::Line& line, std::size_t max_body_bytes,
                      ParsedBodyInfo* info) {
  if (line.oversize) {
    return "line of " + std::to_string(line.length) + " bytes is larger than " +
           "store.max_body_bytes (" + std::to_string(max_body_bytes) + ")";
  }
  StatusOr<ParsedBodyInfo> parsed = InspectFhirBody(line.text, max_body_bytes);
  if (!parsed.ok()) return parsed.status().message();
  *info = std::move(*parsed);
  return "";
}

class Importer {
 public:
  Importer(const CommandLine& cl, Node& node, std::int64_t batch_size)
      : cl_(cl), node_(node), batch_size_(batch_size) {}

  // Pass 1. Returns false (after reporting) when any file is unreadable or
  // any line is bad.
  bool Check(const std::vector<std::string>& paths) {
    const std::size_t max_body = node_.config().store.max_body_bytes;
    std::vector<std::string> problems;
    std::int64_t bad_lines = 0;
    ProgressMeter meter("checking", 0);
    std::int64_t checked = 0;
    for (const std::string& path : paths) {
      FileSummary summary;
      summary.path = path;
      LineReader reader(max_body);
      if (Status opened = reader.Open(path); !opened.ok()) {
        ++bad_lines;
        problems.push_back(opened.message());
        files_.push_back(summary);
        continue;
      }
      LineReader::Line line;
      ParsedBodyInfo info;
      while (reader.Next(&line)) {
        if (!line.oversize && IsBlank(line.text)) continue;
        std::string problem = CheckLine(line, max_body, &info);
        if (!problem.empty()) {
          ++bad_lines;
          if (problems.size() < kMaxReportedBadLines) {
            problems.push_back(path + ":" + std::to_string(line.number) + ": " + problem);
          }
          continue;
        }
        ++summary.resources;
        meter.Update(++checked);
      }
      if (!reader.error().ok()) {
        ++bad_lines;
        problems.push_back(reader.error().message());
      }
      total_ += summary.resources;
      files_.push_back(summary);
    }
    meter.Clear();
    if (problems.empty()) return true;
    for (const std::string& problem : problems) PrintError(cl_.command_name(), problem);
    std::string tail = bad_lines > static_cast<std::int64_t>(problems.size())
                           ? " (the first " + std::to_string(problems.size()) + " shown)"
                           : "";
    PrintError(cl_.command_name(),
               std::to_string(bad_lines) + (bad_lines == 1 ? " problem" : " problems") + tail +
                   "; nothing was imported");
    return false;
  }

  // Pass 2. Returns the exit code.
  int Write() {
    const std::size_t max_body = node_.config().store.max_body_bytes;
    ProgressMeter meter("importing", total_);
    const auto start = std::chrono::steady_clock::now();
    std::int64_t done = 0;
    for (FileSummary& summary : files_) {
      LineReader reader(max_body);
      if (Status opened = reader.Open(summary.path); !opened.ok()) {
        meter.Clear();
        return Failed(opened, done);
      }
      std::vector<WriteOp> batch;
      std::int64_t first_line = 0;
      std::int64_t last_line = 0;
      auto flush = [&]() -> Status {
        if (batch.empty()) return Status::Ok();
        StatusOr<ImportSummary> result =
            node_.store().Import(batch, WriteOptions{}, batch.size());
        if (!result.ok()) {
          return result.status().WithContext(summary.path + ":" + std::to_string(first_line) +
                                             "-" + std::to_string(last_line));
        }
        summary.written += result->written;
        summary.unchanged += result->unchanged;
        done += static_cast<std::int64_t>(batch.size());
        batch.clear();
        meter.Update(done);
        return Status::Ok();
      };
      LineReader::Line line;
      ParsedBodyInfo info;
      while (reader.Next(&line)) {
        if (!line.oversize && IsBlank(line.text)) continue;
        // The file may have changed since it was checked; never write a
        // line that was not checked.
        std::string problem = CheckLine(line, max_body, &info);
        if (!problem.empty()) {
          meter.Clear();
          return Failed(InvalidArgumentError(summary.path + ":" + std::to_string(line.number) +
                                             ": " + problem + " (the file changed during the import)"),
                        done);
        }
        if (batch.empty()) first_line = line.number;
        last_line = line.number;
        WriteOp op;
        op.kind = WriteOp::Kind::kPut;
        op.type = std::move(info.resource_type);
        op.id = std::move(info.id);
        op.body = std::move(line.text);
        batch.push_back(std::move(op));
        if (static_cast<std::int64_t>(batch.size()) >= batch_size_) {
          if (Status s = flush(); !s.ok()) {
            meter.Clear();
            return Failed(s, done);
          }
        }
      }
      if (!reader.error().ok()) {
        meter.Clear();
        return Failed(reader.error(), done);
      }
      if (Status s = flush(); !s.ok()) {
        meter.Clear();
        return Failed(s, done);
      }
    }
    meter.Clear();
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return kExitOk;
  }

  void PrintSummary(bool json) const {
    std::int64_t written = 0;
    std::int64_t unchanged = 0;
    for (const FileSummary& f : files_) {
      written += f.written;
      unchanged += f.unchanged;
    }
    const double per_second = seconds_ > 0 ? static_cast<double>(total_) / seconds_ : 0.0;
    if (json) {
      JsonOutput out;
      out.StartObject();
      out.Key("files");
      out.StartArray();
      for (const FileSummary& f : files_) {
        out.StartObject();
        out.Field("file", f.path);
        out.Field("resources", f.resources);
        out.Field("written", f.written);
        out.Field("unchanged", f.unchanged);
        out.EndObject();
      }
      out.EndArray();
      out.Field("resources", total_);
      out.Field("written", written);
      out.Field("unchanged", unchanged);
      out.Field("seconds", seconds_);
      out.Field("per_second", per_second);
      out.EndObject();
      out.Print();
      return;
    }
    std::size_t width = 4;
    for (const FileSummary& f : files_) width = std::max(width, f.path.size());
    for (const FileSummary& f : files_) {
      std::cout << Pad(f.path, width) << "  " << PadNumber(f.resources, 7) << " resources\n";
    }
    char timing[64];
    std::snprintf(timing, sizeof timing, "%.2f s, %.0f/s", seconds_, per_second);
    std::cout << "imported " << total_ << " resources from " << files_.size()
              << (files_.size() == 1 ? " file" : " files") << " in " << timing << ": " << written
              << " new versions, " << unchanged << " unchanged\n";
  }

 private:
  int Failed(const Status& status, std::int64_t done) {
    int code = cl_.Fail(status);
    PrintError(cl_.command_name(),
               done == 0 ? std::string("nothing was written")
                         : std::to_string(done) +
                               " resources from earlier batches were written and stay; "
                               "re-running the import is safe");
    return code;
  }

  const CommandLine& cl_;
  Node& node_;
  std::int64_t batch_size_;
  std::vector<FileSummary> files_;
  std::int64_t total_ = 0;
  double seconds_ = 0;
};

int RunImport(const Invocation& invocation) {
  CommandLine cl(invocation);
  std::int64_t batch = 1000;
  bool json = false;
  cl.flags().AddInt("batch", "N", &batch, 1, 100000);
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(1, SIZE_MAX)) return *exit;
  for (const std::string& path : cl.positional()) {
    if (path == "-") {
      return cl.UsageError("import reads files, not stdin (every file is checked before "
                           "anything is written)");
    }
  }

  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  Importer importer(cl, **node, batch);
  if (!importer.Check(cl.positional())) return kExitFailure;
  if (int code = importer.Write(); code != kExitOk) return code;
  importer.PrintSummary(json);
  return kExitOk;
}

}  // namespace

extern const Command kImportCommand = {"import", "bulk-load FHIR NDJSON files", kHelp,
                                       &RunImport};

}  // namespace fhirsync::cli
