#include "fhirsync/fhir/bulk_export_client.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include "fhir_wire.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/http_status.h"
#include "fhirsync/net/http_transport.h"

namespace fhirsync::fhir {
namespace {

using Clock = std::chrono::steady_clock;

// `url`'s path and query, when it names `endpoint`'s scheme, host and port.
StatusOr<std::string> TargetOf(const std::string& url, const net::HttpEndpoint& endpoint,
                               std::string_view what) {
  const std::string quoted = std::string(what) + " '" + EscapeForMessage(url, 200) + "'";
  try {
    Poco::URI uri(url);
    if ((uri.getScheme() == "https") != endpoint.tls ||
        (uri.getScheme() != "http" && uri.getScheme() != "https") ||
        uri.getHost() != endpoint.host || uri.getPort() != endpoint.port) {
      return InvalidArgumentError(quoted +
                                  " is not on the server the export was asked of; fhirsync "
                                  "sends its credentials to that server only");
    }
    // The path and query as the server wrote them: Poco would re-encode
    // the `$` of `$export-status`, which a server need not decode.
    const std::size_t authority = url.find("://");
    const std::size_t path = url.find('/', authority + 3);
    std::string target = path == std::string::npos ? "/" : url.substr(path);
    if (const std::size_t hash = target.find('#'); hash != std::string::npos) target.resize(hash);
    return target;
  } catch (const Poco::Exception& e) {
    return InvalidArgumentError(quoted + " does not parse: " + e.displayText());
  }
}

// The wait a 202 asks for: Retry-After in seconds (an HTTP date is not
// honoured: a second), capped.
int RetryAfterMs(const net::HttpAnswer& answer, int cap_ms) {
  const std::string value = answer.Header("Retry-After");
  int ms = 1000;
  if (!value.empty() && std::all_of(value.begin(), value.end(),
                                    [](char c) { return c >= '0' && c <= '9'; }) &&
      value.size() < 7) {
    ms = std::stoi(value) * 1000;
  }
  return std::clamp(ms, 50, std::max(50, cap_ms));
}

Status HttpError(const std::string& label, const net::HttpAnswer& answer) {
  std::string message = label + ": HTTP " + std::to_string(answer.status);
  if (!answer.reason.empty()) message += " " + answer.reason;
  const std::string outcome = OperationOutcomeText(answer.body);
  if (!outcome.empty()) message += ": " + outcome;
  return Status(StatusCodeForHttpStatus(answer.status), message);
}

}  // namespace

class BulkExportClient::Impl {
 public:
  explicit Impl(BulkExportOptions options) : options_(std::move(options)) {
    const FhirClientOptions& c = options_.client;
    config_error_ = net::ParseHttpBaseUrl(c.base_url, "FHIR base URL", &endpoint_);
    net::HttpTransportOptions http = TransportOptionsFor(c, endpoint_);
    control_ = std::make_unique<net::HttpTransport>(http);
    http.accept = "application/fhir+ndjson";
    http.accept_gzip = true;
    http.max_response_bytes = static_cast<std::size_t>(options_.max_file_bytes);
    files_ = std::make_unique<net::HttpTransport>(http);
  }

  BulkExportJob Start(const std::vector<std::string>& types, const std::string& resume_job) {
    BulkExportJob job;
    if (!config_error_.ok()) {
      job.status = config_error_.WithContext("$export");
      return job;
    }
    const Clock::time_point deadline =
        Clock::now() + std::chrono::milliseconds(options_.export_deadline_ms);
    if (!resume_job.empty()) {
      job.status_url = resume_job;
      Poll(job, deadline);
      if (job.status.ok() || (job.http_status != 404 && job.http_status != 410)) return job;
      job = BulkExportJob();  // gone: start afresh
    }
    KickOff(types, job);
    if (!job.status.ok()) return job;
    Poll(job, deadline);
    return job;
  }

  BulkFileRead ReadFile(const std::string& url, std::int64_t from_byte,
                        const std::function<bool(std::string_view)>& sink) {
    BulkFileRead read;
    const std::string label = "GET " + EscapeForMessage(url, 200);
    if (!config_error_.ok()) {
      read.status = config_error_.WithContext(label);
      return read;
    }
    StatusOr<std::string> target = TargetOf(url, endpoint_, "export file URL");
    if (!target.ok()) {
      read.status = target.status();
      return read;
    }
    net::HttpRequestSpec request{"GET", *target, {}, {}, {}};
    if (from_byte > 0) {
      // The plain bytes from there: a byte range of a gzip encoding would
      // not decode on its own.
      request.headers.emplace_back("Range", "bytes=" + std::to_string(from_byte) + "-");
      request.headers.emplace_back("Accept-Encoding", "identity");
    }
    // A server that ignores Range sends the whole file: its first
    // `from_byte` bytes are dropped here.
    std::int64_t to_skip = 0;
    request.on_head = [&](const net::HttpAnswer& head) {
      to_skip = head.status == 200 ? from_byte : 0;
    };
    bool stopped = false;
    net::HttpAnswer answer = files_->Exchange(request, [&](std::string_view chunk) -> Status {
      if (to_skip > 0) {
        const std::int64_t drop = std::min<std::int64_t>(to_skip, chunk.size());
        chunk.remove_prefix(static_cast<std::size_t>(drop));
        to_skip -= drop;
      }
      if (chunk.empty()) return Status::Ok();
      read.bytes += static_cast<std::int64_t>(chunk.size());
      if (!sink(chunk)) {
        stopped = true;
        return Status(StatusCode::kCancelled, label + ": stopped by the reader");
      }
      return Status::Ok();
    });
    read.http_status = answer.status;
    if (stopped) {
      read.status = Status(StatusCode::kCancelled, label + ": stopped by the reader");
      return read;
    }
    if (!answer.transport.ok()) {
      read.status = Status(answer.transport.code(), label + ": " + answer.transport.message());
      return read;
    }
    if (answer.status == 404 || answer.status == 410) {
      read.status = NotFoundError(label + ": the server no longer has this export file (HTTP " +
                                  std::to_string(answer.status) + ")");
      return read;
    }
    if (answer.status != 200 && answer.status != 206) {
      read.status = HttpError(label, answer);
      return read;
    }
    return read;
  }

 private:
  void KickOff(const std::vector<std::string>& types, BulkExportJob& job) {
    std::string target = endpoint_.base_path + "/$export";
    if (!types.empty()) target += "?_type=" + Join(types, ",");
    net::HttpRequestSpec request{"GET", target, {{"Prefer", "respond-async"}}, {}, {}};
    const std::string label = "GET " + target;
    net::HttpAnswer answer = control_->Exchange(request);
    job.http_status = answer.status;
    if (!answer.transport.ok()) {
      job.status = Status(answer.transport.code(), label + ": " + answer.transport.message());
      return;
    }
    job.outcome_text = OperationOutcomeText(answer.body);
    if (answer.status != 202) {
      job.status = answer.status >= 200 && answer.status < 300
                       ? InvalidArgumentError(label + ": HTTP " + std::to_string(answer.status) +
                                              " instead of 202 Accepted (a Bulk Data kick-off "
                                              "with Prefer: respond-async)")
                       : HttpError(label, answer);
      return;
    }
    const std::string location = answer.Header("Content-Location");
    if (location.empty()) {
      job.status = InvalidArgumentError(label + ": 202 Accepted without Content-Location (the "
                                        "status URL of the export)");
      return;
    }
    job.status_url = location;
  }

  void Poll(BulkExportJob& job, Clock::time_point deadline) {
    StatusOr<std::string> target = TargetOf(job.status_url, endpoint_, "export status URL");
    if (!target.ok()) {
      job.status = target.status();
      return;
    }
    const std::string label = "GET " + EscapeForMessage(job.status_url, 200);
    while (true) {
      net::HttpAnswer answer = control_->Exchange({"GET", *target, {}, {}, {}});
      job.http_status = answer.status;
      if (!answer.transport.ok()) {
        job.status = Status(answer.transport.code(), label + ": " + answer.transport.message());
        return;
      }
      if (answer.status == 200) {
        StatusOr<BulkManifest> manifest = ParseBulkManifest(answer.body);
        if (!manifest.ok()) {
          job.status = manifest.status().WithContext(label + ": the export manifest");
          return;
        }
        job.manifest = std::move(*manifest);
        job.manifest_text = std::move(answer.body);
        job.status = Status::Ok();
        return;
      }
      if (answer.status != 202) {
        job.outcome_text = OperationOutcomeText(answer.body);
        job.status = HttpError(label, answer);
        return;
      }
      const auto wait = std::chrono::milliseconds(RetryAfterMs(answer, options_.max_poll_interval_ms));
      if (Clock::now() + wait > deadline) {
        job.status = DeadlineExceededError(
            label + ": the export was not ready within " +
            std::to_string(options_.export_deadline_ms / 1000) + " s (progress: '" +
            EscapeForMessage(answer.Header("X-Progress"), 80) + "')");
        return;
      }
      std::this_thread::sleep_for(wait);
    }
  }

  static std::string Join(const std::vector<std::string>& parts, const char* sep) {
    std::string out;
    for (const std::string& part : parts) {
      if (!out.empty()) out += sep;
      out += part;
    }
    return out;
  }

  const BulkExportOptions options_;
  Status config_error_;
  net::HttpEndpoint endpoint_;
  std::unique_ptr<net::HttpTransport> control_;
  std::unique_ptr<net::HttpTransport> files_;
};

BulkExportClient::BulkExportClient(BulkExportOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
BulkExportClient::~BulkExportClient() = default;

BulkExportJob BulkExportClient::Start(const std::vector<std::string>& types,
                                      const std::string& resume_job) {
  return impl_->Start(types, resume_job);
}

BulkFileRead BulkExportClient::ReadFile(const std::string& url, std::int64_t from_byte,
                                        const std::function<bool(std::string_view)>& sink) {
  return impl_->ReadFile(url, from_byte, sink);
}

}  // namespace fhirsync::fhir
