// FhirClient: FHIR interactions on top of the shared HttpTransport
// (fhirsync/net/http_transport.h, in base/) and the wire format.

#include "fhirsync/fhir/fhir_client.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include "fhirsync/base/text_util.h"
#include "fhir_wire.h"
#include "fhirsync/http_status.h"
#include "fhirsync/resource.h"
#include "fhirsync/net/http_transport.h"

namespace fhirsync::fhir {
namespace {

std::string EncodeQueryValue(std::string_view value) {
  std::string out;
  Poco::URI::encode(std::string(value), "!#$&'()*+,/:;=?@[]", out);
  return out;
}

// The part of a URL a request line needs: path and query.
std::string PathAndQuery(const std::string& url) {
  Poco::URI uri(url);
  std::string target = uri.getPathEtc();
  return target.empty() ? "/" : target;
}

Status CheckTypeAndId(std::string_view type, std::string_view id) {
  FHIRSYNC_RETURN_IF_ERROR(ValidateResourceType(type));
  return ValidateId(id);
}

// The rest of a complete answer's mapping, shared by a whole HTTP response
// and one entry of a batch-response so that both are judged alike: `result`
// already holds the body, location and outcome text; this adds the version
// (ETag, else Location, else meta.versionId of a 2xx body) and, for a
// non-2xx status, the Status "label: HTTP 412 reason: outcome".
void MapAnswer(const std::string& label, int http_status, const std::string& reason,
               const std::string& etag, const std::string& ambiguity_note, FhirResult& result) {
  result.http_status = http_status;
  result.version_id = net::VersionFromEtag(etag);
  if (result.version_id.empty()) result.version_id = VersionFromLocation(result.location);
  if (result.version_id.empty() && http_status >= 200 && http_status < 300) {
    result.version_id = MetaVersionId(result.body);
  }
  StatusCode code = StatusCodeForHttpStatus(http_status);
  if (code == StatusCode::kOk) return;
  std::string message = label + ": HTTP " + std::to_string(http_status);
  if (!reason.empty()) message += " " + reason;
  if (!result.outcome_text.empty()) message += ": " + result.outcome_text;
  result.gone = http_status == 410;
  if (result.gone) message += " (gone: deleted on the server)";
  message += ambiguity_note;
  result.status = Status(code, message);
}

// A write whose fate is unknown: the Bundle went out but what came back does
// not say what became of it.
FhirResult LostWrite(const std::string& label, const std::string& why) {
  FhirResult result;
  result.ambiguous = true;
  result.status = UnavailableError(label + ": " + why +
                                   " (ambiguous: the server may have applied this write; read "
                                   "it back before sending again)");
  return result;
}

}  // namespace

bool FhirCapabilities::Supports(const std::string& type, const std::string& interaction) const {
  auto it = interactions.find(type);
  return it != interactions.end() && it->second.count(interaction) > 0;
}

class FhirClient::Impl {
 public:
  explicit Impl(FhirClientOptions options) : options_(std::move(options)) {
    net::HttpEndpoint endpoint;
    config_error_ = net::ParseHttpBaseUrl(options_.base_url, "FHIR base URL", &endpoint);
    base_path_ = endpoint.base_path;
    net::HttpTransportOptions http = TransportOptionsFor(options_, endpoint);
    http.content_type = "application/fhir+json; charset=utf-8";
    transport_ = std::make_unique<net::HttpTransport>(http);
  }

  // Sends one request; `label` ("PUT Patient/1") starts every message.
  FhirResult Interact(const std::string& method, const std::string& target,
                      const std::string& label, std::string body = {},
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    FhirResult result;
    if (!config_error_.ok()) {
      result.status = config_error_.WithContext(label);
      return result;
    }
    net::HttpRequestSpec request{method, target, std::move(headers), std::move(body), {}};
    net::HttpAnswer answer = transport_->Exchange(request);
    result.http_status = answer.status;
    result.ambiguous = net::IsAmbiguousWrite(method, answer);
    if (!answer.transport.ok()) {
      std::string message = label + ": " + answer.transport.message();
      if (result.ambiguous) message += net::AmbiguityNote(answer);
      result.status = Status(answer.transport.code(), message);
      return result;
    }
    result.body = std::move(answer.body);
    result.last_modified = answer.last_modified;
    result.location = !answer.location.empty() ? answer.location : answer.content_location;
    result.outcome_text = OperationOutcomeText(result.body);
    MapAnswer(label, answer.status, answer.reason, answer.etag,
              result.ambiguous ? net::AmbiguityNote(answer) : std::string(), result);
    return result;
  }

  std::string Target(std::string_view type, std::string_view id = {}) const {
    std::string target = base_path_ + "/" + std::string(type);
    if (!id.empty()) target += "/" + std::string(id);
    return target;
  }

  FhirResult Invalid(const std::string& label, const Status& status) {
    FhirResult result;
    result.status = status.WithContext(label);
    return result;
  }

  FhirResult Read(std::string_view type, std::string_view id) {
    std::string label = "GET " + std::string(type) + "/" + EscapeForMessage(id);
    Status valid = CheckTypeAndId(type, id);
    if (!valid.ok()) return Invalid(label, valid);
    return Interact("GET", Target(type, id), label);
  }

  FhirResult VRead(std::string_view type, std::string_view id, std::string_view version) {
    std::string label = "GET " + std::string(type) + "/" + EscapeForMessage(id) + "/_history/" +
                        EscapeForMessage(version);
    Status valid = CheckTypeAndId(type, id);
    if (valid.ok()) valid = ValidateId(version);
    if (!valid.ok()) return Invalid(label, valid);
    return Interact("GET", Target(type, id) + "/_history/" + std::string(version), label);
  }

  // A PUT guarded by If-Match (expected_version) or, for a create, by
  // If-None-Match: * (`create_only`); neither: unconditional.
  FhirResult Put(std::string_view type, std::string_view id, std::string_view body,
                 std::string_view expected_version, bool create_only) {
    std::string label = "PUT " + std::string(type) + "/" + EscapeForMessage(id);
    Status valid = CheckTypeAndId(type, id);
    if (valid.ok() && !expected_version.empty()) valid = ValidateId(expected_version);
    if (!valid.ok()) return Invalid(label, valid);
    std::vector<std::pair<std::string, std::string>> headers;
    if (!expected_version.empty()) {
      headers.emplace_back("If-Match", "W/\"" + std::string(expected_version) + "\"");
    } else if (create_only) {
      headers.emplace_back("If-None-Match", "*");
    }
    // The caller needs the new version (ETag, or Location), never the body
    // back: a server that honours the preference (RFC 7240) sends none; one
    // that does not ignores it, as the RFC says it may.
    headers.emplace_back("Prefer", "return=minimal");
    return Interact("PUT", Target(type, id), label, std::string(body), std::move(headers));
  }

  FhirResult CreateConditional(std::string_view type, std::string_view body,
                               std::string_view if_none_exist) {
    std::string label = "POST " + std::string(type);
    Status valid = ValidateResourceType(type);
    if (valid.ok() && (if_none_exist.empty() ||
                       if_none_exist.find_first_of("\r\n") != std::string_view::npos)) {
      valid = InvalidArgumentError("If-None-Exist query is empty or spans lines");
    }
    if (!valid.ok()) return Invalid(label, valid);
    return Interact("POST", Target(type), label, std::string(body),
                    {{"If-None-Exist", std::string(if_none_exist)}});
  }

  FhirResult Delete(std::string_view type, std::string_view id,
                    std::string_view expected_version) {
    std::string label = "DELETE " + std::string(type) + "/" + EscapeForMessage(id);
    Status valid = CheckTypeAndId(type, id);
    if (valid.ok() && !expected_version.empty()) valid = ValidateId(expected_version);
    if (!valid.ok()) return Invalid(label, valid);
    std::vector<std::pair<std::string, std::string>> headers;
    if (!expected_version.empty()) {
      headers.emplace_back("If-Match", "W/\"" + std::string(expected_version) + "\"");
    }
    return Interact("DELETE", Target(type, id), label, {}, std::move(headers));
  }

  StatusOr<FhirCapabilities> Capabilities() {
    FhirResult result = Interact("GET", base_path_ + "/metadata", "GET metadata");
    if (!result.ok()) return result.status;
    auto caps = ParseCapabilityStatement(result.body);
    if (!caps.ok()) return caps.status().WithContext("GET metadata");
    std::lock_guard<std::mutex> lock(mu_);
    caps_ = *caps;
    return caps;
  }

  StatusOr<FhirCapabilities> CapabilitiesOnce() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (caps_) return *caps_;
    }
    return Capabilities();
  }

  bool BatchSupported() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (caps_) return caps_->system_interactions.count("batch") > 0;
    }
    auto caps = Capabilities();
    // No CapabilityStatement: `_id` search is plain REST and always tried.
    return caps.ok() && caps->system_interactions.count("batch") > 0;
  }

  BatchWriteOutcome WriteBatch(const std::vector<BatchWrite>& writes) {
    BatchWriteOutcome out;
    out.entries.resize(writes.size());
    const std::string of = " of " + std::to_string(writes.size()) + ")";
    std::vector<std::string> labels(writes.size());
    std::vector<const BatchWrite*> sent;
    std::vector<std::size_t> sent_at;  // sent[k] is writes[sent_at[k]]
    for (std::size_t i = 0; i < writes.size(); ++i) {
      const BatchWrite& write = writes[i];
      const bool put = write.method == WriteMethod::kPut;
      labels[i] = std::string(put ? "PUT " : "DELETE ") + EscapeForMessage(write.type) + "/" +
                  EscapeForMessage(write.id) + " (batch entry " + std::to_string(i + 1) + of;
      Status valid = config_error_;
      if (valid.ok()) valid = CheckTypeAndId(write.type, write.id);
      if (valid.ok() && !write.expected_version.empty()) valid = ValidateId(write.expected_version);
      if (valid.ok() && write.if_none_match && (!put || !write.expected_version.empty())) {
        valid = InvalidArgumentError(
            "if_none_match goes only with a PUT that has no expected version (a create)");
      }
      // The body is copied into the Bundle as it is, so it must be a JSON
      // object; a single PUT would have had it refused by the server (400).
      if (valid.ok() && put) valid = InspectFhirBody(write.body).status();
      if (!valid.ok()) {
        out.entries[i].status = valid.WithContext(labels[i]);
        continue;
      }
      sent.push_back(&write);
      sent_at.push_back(i);
    }
    if (sent.empty()) return out;

    const std::string label = "POST batch of " + std::to_string(sent.size()) + " writes";
    FhirResult call =
        Interact("POST", base_path_.empty() ? "/" : base_path_, label, BuildBatchWriteBundle(sent));
    out.bundle_status = call.status;
    out.bundle_http_status = call.http_status;
    if (!call.ok()) {
      // No batch-response: every write shares the Bundle's fate (e.g. 401 for
      // all, or ambiguous for all when the answer was lost).
      for (std::size_t i : sent_at) {
        FhirResult& result = out.entries[i];
        result.status = Status(call.status.code(), labels[i] + ": " + call.status.message());
        result.http_status = call.http_status;
        result.outcome_text = call.outcome_text;
        result.ambiguous = call.ambiguous;
      }
      return out;
    }
    StatusOr<std::vector<BatchAnswer>> answers = ParseBatchResponse(call.body);
    Status unusable = answers.status();
    if (unusable.ok() && answers->size() != sent.size()) {
      unusable = InvalidArgumentError("it has " + std::to_string(answers->size()) +
                                      " entries for " + std::to_string(sent.size()) +
                                      " requests");
    }
    if (!unusable.ok()) {
      out.bundle_status =
          unusable.WithContext(label + ": the answer is not a usable batch-response");
      for (std::size_t i : sent_at) {
        out.entries[i] = LostWrite(labels[i], out.bundle_status.message());
      }
      return out;
    }
    for (std::size_t k = 0; k < sent.size(); ++k) {
      BatchAnswer& answer = (*answers)[k];
      const std::size_t i = sent_at[k];
      if (answer.http_status < 200) {
        out.entries[i] = LostWrite(labels[i], "its response.status '" +
                                                  EscapeForMessage(answer.status_text) +
                                                  "' is not an HTTP status");
        continue;
      }
      FhirResult& result = out.entries[i];
      result.location = std::move(answer.location);
      result.outcome_text = std::move(answer.outcome_text);
      if (answer.has_resource) result.body = std::move(answer.resource.body);
      std::string reason = answer.status_text.size() > 4 ? answer.status_text.substr(4) : "";
      // As for a single write: a gateway's 502/504 may hide an applied write.
      result.ambiguous = answer.http_status == 502 || answer.http_status == 504;
      MapAnswer(labels[i], answer.http_status, reason, answer.etag,
                result.ambiguous ? " (ambiguous: the server may have applied it)" : "", result);
    }
    return out;
  }

  bool SupportsBatch() { return BatchSupported(); }

  StatusOr<std::vector<FhirResult>> ReadMany(std::string_view type,
                                             const std::vector<std::string>& ids) {
    FHIRSYNC_RETURN_IF_ERROR(ValidateResourceType(type));
    for (const std::string& id : ids) {
      FHIRSYNC_RETURN_IF_ERROR(ValidateId(id).WithContext("read many " + std::string(type)));
    }
    bool batch = options_.read_many_mode == ReadManyMode::kBatch ||
                 (options_.read_many_mode == ReadManyMode::kAuto && BatchSupported());
    std::vector<FhirResult> results;
    results.reserve(ids.size());
    std::size_t chunk = std::max<std::size_t>(1, options_.read_many_chunk);
    for (std::size_t start = 0; start < ids.size(); start += chunk) {
      std::vector<std::string> part(ids.begin() + static_cast<std::ptrdiff_t>(start),
                                    ids.begin() + static_cast<std::ptrdiff_t>(
                                                      std::min(ids.size(), start + chunk)));
      Status done = batch ? ReadBatch(type, part, results) : ReadByIdSearch(type, part, results);
      FHIRSYNC_RETURN_IF_ERROR(done);
    }
    return results;
  }

  Status ReadBatch(std::string_view type, const std::vector<std::string>& ids,
                   std::vector<FhirResult>& results) {
    std::string label = "POST batch of " + std::to_string(ids.size()) + " " + std::string(type) +
                        " reads";
    FhirResult call = Interact("POST", base_path_.empty() ? "/" : base_path_, label,
                               BuildBatchReadBundle(type, ids));
    if (!call.ok()) return call.status;
    auto answers = ParseBatchResponse(call.body);
    if (!answers.ok()) return answers.status().WithContext(label);
    if (answers->size() != ids.size()) {
      return InvalidArgumentError(label + ": the batch answer has " +
                                  std::to_string(answers->size()) + " entries for " +
                                  std::to_string(ids.size()) + " requests");
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
      BatchAnswer& answer = (*answers)[i];
      FhirResult result;
      result.http_status = answer.http_status;
      result.outcome_text = answer.outcome_text;
      result.location = answer.location;
      result.version_id = net::VersionFromEtag(answer.etag);
      StatusCode code = StatusCodeForHttpStatus(answer.http_status);
      std::string item = "GET " + std::string(type) + "/" + ids[i];
      if (code == StatusCode::kOk && answer.has_resource && answer.resource.id != ids[i]) {
        code = StatusCode::kInvalidArgument;
        result.status = InvalidArgumentError(item + ": the batch answer holds " +
                                             EscapeForMessage(answer.resource.resource_type) + "/" +
                                             EscapeForMessage(answer.resource.id));
      } else if (code == StatusCode::kOk && !answer.has_resource) {
        result.status = InvalidArgumentError(item + ": the batch answer holds no resource");
      } else if (code != StatusCode::kOk) {
        std::string message = item + ": HTTP " + std::to_string(answer.http_status);
        if (!answer.outcome_text.empty()) message += ": " + answer.outcome_text;
        result.gone = answer.http_status == 410;
        result.status = Status(code, message);
      }
      if (answer.has_resource) {
        if (result.version_id.empty()) result.version_id = answer.resource.version_id;
        result.body = std::move(answer.resource.body);
      }
      results.push_back(std::move(result));
    }
    return Status::Ok();
  }

  Status ReadByIdSearch(std::string_view type, const std::vector<std::string>& ids,
                        std::vector<FhirResult>& results) {
    std::string id_list;
    for (const std::string& id : ids) id_list += (id_list.empty() ? "" : ",") + id;
    std::string target = Target(type) + "?_id=" + EncodeQueryValue(id_list) +
                         "&_count=" + std::to_string(ids.size());
    std::string label = "GET " + std::string(type) + "?_id= (" + std::to_string(ids.size()) +
                        " ids)";
    std::map<std::string, BundleResource> found;
    std::set<std::string> seen_pages;
    while (!target.empty()) {
      if (!seen_pages.insert(target).second) {
        return InvalidArgumentError(label + ": next links loop");
      }
      FhirResult call = Interact("GET", target, label);
      if (!call.ok()) return call.status;
      auto page = ParseSearchBundle(call.body);
      if (!page.ok()) return page.status().WithContext(label);
      for (BundleResource& match : page->matches) {
        if (match.resource_type == type) found[match.id] = std::move(match);
      }
      target = page->next_url.empty() ? std::string() : PathAndQuery(page->next_url);
    }
    for (const std::string& id : ids) {
      FhirResult result;
      auto it = found.find(id);
      if (it == found.end()) {
        result.status = NotFoundError("GET " + std::string(type) + "/" + id +
                                      ": not in the _id search answer");
      } else {
        result.http_status = 200;
        result.version_id = it->second.version_id;
        result.body = std::move(it->second.body);
      }
      results.push_back(std::move(result));
    }
    return Status::Ok();
  }

  StatusOr<HistoryPage> HistoryPageAt(std::string_view type, std::string_view since,
                                      std::string_view page_url) {
    std::string label = "GET " + (type.empty() ? std::string() : std::string(type) + "/") +
                        "_history";
    std::string target;
    if (!page_url.empty()) {
      // Only the path and query of a next link are used: the request goes to
      // this client's server, so credentials never follow a link elsewhere.
      try {
        target = PathAndQuery(std::string(page_url));
      } catch (const Poco::Exception& e) {
        return InvalidArgumentError(label + ": next link '" + EscapeForMessage(page_url) +
                                    "' does not parse: " + e.displayText());
      }
    } else {
      if (!type.empty()) FHIRSYNC_RETURN_IF_ERROR(ValidateResourceType(type));
      if (!since.empty()) {
        FHIRSYNC_RETURN_IF_ERROR(ParseInstant(since).status().WithContext(label + " _since"));
      }
      target = (type.empty() ? base_path_ : Target(type)) + "/_history";
      std::string query;
      if (!since.empty()) query += "_since=" + EncodeQueryValue(since);
      if (options_.history_page_size > 0) {
        query += (query.empty() ? "" : "&") + std::string("_count=") +
                 std::to_string(options_.history_page_size);
      }
      if (!query.empty()) target += "?" + query;
    }
    FhirResult call = Interact("GET", target, label);
    if (!call.ok()) {
      // How servers without a system-level _history answer its first page
      // (as an unknown resource type, or no such route): Unimplemented, so
      // that the caller can walk each type's history instead.
      const int http = call.http_status;
      if (type.empty() && page_url.empty() &&
          (http == 400 || http == 404 || http == 405 || http == 501)) {
        return UnimplementedError(call.status.message());
      }
      return call.status;
    }
    auto page = ParseHistoryBundle(call.body);
    if (!page.ok()) return page.status().WithContext(label);
    if (type.empty() && page_url.empty() && !page->bundle_type.empty() &&
        page->bundle_type != "history") {
      return UnimplementedError(label + ": the answer is a Bundle of type '" +
                                EscapeForMessage(page->bundle_type) +
                                "', not a history: the server has no system-level _history");
    }
    return page;
  }

  Status History(std::string_view type, std::string_view since,
                 const std::function<Status(HistoryPage&& page)>& on_page) {
    std::set<std::string> seen;
    std::string next;
    do {
      FHIRSYNC_ASSIGN_OR_RETURN(HistoryPage page, HistoryPageAt(type, since, next));
      next = page.next_url;
      FHIRSYNC_RETURN_IF_ERROR(on_page(std::move(page)));
      if (!next.empty() && !seen.insert(next).second) {
        return InvalidArgumentError("GET _history: next link '" + EscapeForMessage(next, 200) +
                                    "' repeats (a loop)");
      }
    } while (!next.empty());
    return Status::Ok();
  }

  std::int64_t connections_opened() const { return transport_->connections_opened(); }

 private:
  const FhirClientOptions options_;
  Status config_error_;
  std::string base_path_;
  std::unique_ptr<net::HttpTransport> transport_;
  std::mutex mu_;
  std::optional<FhirCapabilities> caps_;
};

FhirClient::FhirClient(FhirClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
FhirClient::~FhirClient() = default;

FhirResult FhirClient::Read(std::string_view type, std::string_view id) {
  return impl_->Read(type, id);
}
FhirResult FhirClient::VRead(std::string_view type, std::string_view id,
                             std::string_view version) {
  return impl_->VRead(type, id, version);
}
StatusOr<std::vector<FhirResult>> FhirClient::ReadMany(std::string_view type,
                                                       const std::vector<std::string>& ids) {
  return impl_->ReadMany(type, ids);
}
FhirResult FhirClient::CreateAt(std::string_view type, std::string_view id,
                                std::string_view body) {
  return impl_->Put(type, id, body, {}, /*create_only=*/true);
}
FhirResult FhirClient::CreateConditional(std::string_view type, std::string_view body,
                                         std::string_view if_none_exist) {
  return impl_->CreateConditional(type, body, if_none_exist);
}
FhirResult FhirClient::Update(std::string_view type, std::string_view id, std::string_view body,
                              std::string_view expected_version) {
  return impl_->Put(type, id, body, expected_version, /*create_only=*/false);
}
FhirResult FhirClient::Delete(std::string_view type, std::string_view id,
                              std::string_view expected_version) {
  return impl_->Delete(type, id, expected_version);
}
StatusOr<HistoryPage> FhirClient::HistoryPageAt(std::string_view type, std::string_view since,
                                                std::string_view page_url) {
  return impl_->HistoryPageAt(type, since, page_url);
}
Status FhirClient::History(std::string_view type, std::string_view since,
                           const std::function<Status(HistoryPage&& page)>& on_page) {
  return impl_->History(type, since, on_page);
}
BatchWriteOutcome FhirClient::WriteBatch(const std::vector<BatchWrite>& writes) {
  return impl_->WriteBatch(writes);
}
bool FhirClient::SupportsBatch() { return impl_->SupportsBatch(); }
StatusOr<FhirCapabilities> FhirClient::Capabilities() { return impl_->Capabilities(); }
StatusOr<FhirCapabilities> FhirClient::CapabilitiesOnce() { return impl_->CapabilitiesOnce(); }
std::int64_t FhirClient::connections_opened() const { return impl_->connections_opened(); }

}  // namespace fhirsync::fhir
