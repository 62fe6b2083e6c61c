// FHIR Bulk Data export (https://hl7.org/fhir/uv/bulkdata/export.html) of
// the node's current resources, the parent side of a first sync from a
// snapshot (docs/snapshot.md):
//   GET    /fhir/$export                   kick-off: 202, Content-Location
//   GET    /fhir/$export-status/{job}      202 + X-Progress while running,
//                                          200 + manifest when done
//   DELETE /fhir/$export-status/{job}      cancel and remove: 202
//   GET    /fhir/$export-file/{job}/{n}    the NDJSON, gzip when accepted,
//                                          Range: bytes=N- resumes (206)
// A job is its starter's: to anyone else it does not exist (404).

#include <charconv>
#include <string>

#include "fhirsync/base/text_util.h"
#include "server/export_jobs.h"
#include "server/fhir_ops.h"
#include "server/gzip.h"
#include "server/handlers.h"
#include "server/operation_outcome.h"

namespace fhirsync::server {

namespace {

constexpr char kNdjson[] = "application/fhir+ndjson";
// How long a client polling a running job is asked to wait.
constexpr char kPollSeconds[] = "1";

HttpResponse NoExports() {
  return ErrorResponse(501, "not-supported",
                       "$export is not available: this server has no node folder to write "
                       "export files to");
}

HttpResponse NoSuchJob(const std::string& job) {
  return ErrorResponse(404, "not-found",
                       "no export job '" + EscapeForMessage(job) +
                           "' (unknown, expired, removed, or started by another user)");
}

// The job id of a status or file URL, checked before it names a folder.
bool CheckJob(const std::string& job, HttpResponse* refusal) {
  if (ExportJobs::IsJobId(job)) return true;
  *refusal = ErrorResponse(404, "not-found",
                           "'" + EscapeForMessage(job, 40) +
                               "' is not an export job id (a UUID, as $export's "
                               "Content-Location gives it)");
  return false;
}

bool PrefersAsync(const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (!EqualsIgnoreCase(name, "Prefer")) continue;
    for (std::string& part : SplitList(value)) {
      if (EqualsIgnoreCase(part, "respond-async")) return true;
    }
  }
  return false;
}

}  // namespace

HttpResponse HandleExportKickoff(ServerContext& context, const HttpRequest& request) {
  if (context.exports == nullptr) return NoExports();
  if (!PrefersAsync(request)) {
    return ErrorResponse(400, "invalid",
                         "$export needs the header 'Prefer: respond-async' (a Bulk Data "
                         "export runs as a job; see its Content-Location)");
  }
  SnapshotOptions snapshot;
  for (const auto& [name, value] : request.query) {
    if (name == "_type") {
      std::vector<std::string> types = SplitList(value);
      if (types.empty()) return ErrorResponse(400, "invalid", "_type: no type given");
      for (std::string& type : types) {
        Status valid = ValidateResourceType(type);
        if (valid.ok()) valid = CheckWritableType(context, type);
        if (!valid.ok()) {
          return ErrorResponse(400, "invalid",
                               "_type: '" + EscapeForMessage(type) +
                                   "' is not a FHIR resource type this node serves");
        }
        snapshot.types.push_back(std::move(type));
      }
    } else if (name == "_outputFormat") {
      if (value != "application/fhir+ndjson" && value != "application/ndjson" &&
          value != "ndjson") {
        return ErrorResponse(400, "invalid",
                             "_outputFormat: '" + EscapeForMessage(value) +
                                 "' is not supported (only application/fhir+ndjson, "
                                 "application/ndjson or ndjson)");
      }
    } else if (name == "_since") {
      StatusOr<std::int64_t> since = ParseInstant(value);
      if (!since.ok()) {
        return ErrorResponse(400, "invalid", "_since: " + since.status().message());
      }
      snapshot.since_ms = *since;
    } else {
      return ErrorResponse(400, "not-supported",
                           "$export parameter '" + EscapeForMessage(name) +
                               "' is not supported (supported: _type, _outputFormat, _since)");
    }
  }
  snapshot.node_id = context.node_id;
  snapshot.base_url = request.base_url;
  snapshot.feed_page_size = context.config.feed_page_size;
  snapshot.requires_access_token = true;
  std::string kickoff = request.base_url + "/fhir/$export";
  std::string query;
  for (const auto& [name, value] : request.query) {
    query += (query.empty() ? "?" : "&") + name + "=" + value;
  }
  snapshot.request = kickoff + query;
  StatusOr<std::string> job =
      context.exports->Start(request.user, std::move(snapshot),
                             request.base_url + "/fhir/$export-file/");
  if (!job.ok()) {
    HttpResponse refused = ErrorResponse(job.status());
    if (job.status().code() == StatusCode::kResourceExhausted) {
      refused = ErrorResponse(429, "throttled", job.status().message());
      refused.SetHeader("Retry-After", "10");
    }
    return refused;
  }
  HttpResponse response;
  response.status = 202;
  response.SetHeader("Content-Location", request.base_url + "/fhir/$export-status/" + *job);
  return response;
}

HttpResponse HandleExportStatus(ServerContext& context, const HttpRequest& request,
                                const std::string& job) {
  if (context.exports == nullptr) return NoExports();
  HttpResponse refusal;
  if (!CheckJob(job, &refusal)) return refusal;
  if (request.method == "DELETE") {
    if (!context.exports->Remove(request.user, job)) return NoSuchJob(job);
    HttpResponse removed;
    removed.status = 202;
    return removed;
  }
  std::optional<ExportJobs::View> view = context.exports->Get(request.user, job);
  if (!view) return NoSuchJob(job);
  switch (view->state) {
    case ExportJobs::State::kRunning: {
      HttpResponse response;
      response.status = 202;
      const SnapshotProgress& p = view->progress;
      response.SetHeader("X-Progress", std::to_string(p.written) + " of " +
                                           std::to_string(p.expected) + " resources" +
                                           (p.type.empty() ? "" : " (" + p.type + ")"));
      response.SetHeader("Retry-After", kPollSeconds);
      return response;
    }
    case ExportJobs::State::kFailed:
      return ErrorResponse(500, "exception", "export job " + job + " failed: " + view->error);
    case ExportJobs::State::kDone:
      break;
  }
  HttpResponse response;
  response.content_type = "application/json";
  response.body = std::move(view->manifest_json);
  response.SetHeader("Cache-Control", "no-store");
  return response;
}

HttpResponse HandleExportFile(ServerContext& context, const HttpRequest& request,
                              const std::string& job, const std::string& number) {
  if (context.exports == nullptr) return NoExports();
  HttpResponse refusal;
  if (!CheckJob(job, &refusal)) return refusal;
  int n = 0;
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), n);
  if (error != std::errc() || end != number.data() + number.size() || n < 1) {
    return ErrorResponse(404, "not-found",
                         "'" + EscapeForMessage(number, 40) +
                             "' is not an export file number (1, 2, ... as the manifest "
                             "lists them)");
  }
  std::optional<ExportJobs::File> file = context.exports->GetFile(request.user, job, n);
  if (!file) {
    return ErrorResponse(404, "not-found",
                         "export job '" + job + "' has no file " + std::to_string(n) +
                             " (unknown, not finished, removed, or started by another user)");
  }
  HttpResponse response;
  response.content_type = kNdjson;
  response.SetHeader("Accept-Ranges", "bytes");
  response.SetHeader("Vary", "Accept-Encoding");
  if (const std::string* range = request.Header("Range")) {
    // One open range, "bytes=N-": the plain bytes from N (identity), so a
    // cut download goes on from what it has.
    std::uint64_t from = 0;
    const std::string prefix = "bytes=";
    const bool open_range = range->rfind(prefix, 0) == 0 && range->size() > prefix.size() + 1 &&
                            range->back() == '-';
    const char* first = range->data() + prefix.size();
    const char* last = range->data() + range->size() - 1;
    auto parsed = open_range ? std::from_chars(first, last, from)
                             : std::from_chars_result{first, std::errc::invalid_argument};
    if (!open_range || parsed.ec != std::errc() || parsed.ptr != last) {
      return ErrorResponse(400, "invalid",
                           "Range: '" + EscapeForMessage(*range, 60) +
                               "' is not supported (only one open range, bytes=N-)");
    }
    if (from >= file->plain_bytes) {
      HttpResponse past = ErrorResponse(
          416, "invalid",
          "Range: byte " + std::to_string(from) + " is past the end of the file (" +
              std::to_string(file->plain_bytes) + " bytes)");
      past.SetHeader("Content-Range", "bytes */" + std::to_string(file->plain_bytes));
      return past;
    }
    response.status = 206;
    response.SetHeader("Content-Range", "bytes " + std::to_string(from) + "-" +
                                            std::to_string(file->plain_bytes - 1) + "/" +
                                            std::to_string(file->plain_bytes));
    response.file_path = file->plain_path;
    response.file_offset = from;
    response.file_length = file->plain_bytes - from;
    return response;
  }
  const std::string* accept = request.Header("Accept-Encoding");
  if (accept != nullptr && AcceptsGzip(*accept)) {
    response.SetHeader("Content-Encoding", "gzip");
    response.file_path = file->gzip_path;
    response.file_length = file->gzip_bytes;
  } else {
    response.file_path = file->plain_path;
    response.file_length = file->plain_bytes;
  }
  return response;
}

}  // namespace fhirsync::server
