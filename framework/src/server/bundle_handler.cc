// POST /fhir with a batch or transaction Bundle.
//
// batch: every entry is an independent request answered with its own
// status (a failing entry does not stop the others). A PUT entry's
// request.ifMatch and request.ifNoneMatch ("*": create only) are its
// preconditions, as the headers of a single PUT. A run of consecutive
// writes by id (PUT or DELETE Type/id, the shape of a child's push) is
// committed in one store transaction when every write in it succeeds, which
// is what makes a pushed batch cheap; if any fails, nothing of that attempt
// stays and each write of the run is made on its own, so each is still
// judged alone. Other entries run through the same router as a plain HTTP
// request. Every entry that wrote says its new version in response.etag and
// response.location; a failed one carries an OperationOutcome naming it.
//
// transaction: every write entry becomes one WriteOp and all of them go to
// the store in ONE LocalStore::Write() call, so the transaction is all or
// nothing by the store's own guarantee. POST entries whose fullUrl is
// "urn:uuid:<id>" are created at that id and references to the fullUrl are
// rewritten to "Type/id". GET entries are answered after the writes.
//
// Both answers are written entry by entry, in order, as soon as each is
// final, and never past server.max_response_bytes (response_cap.h): 800
// reads of one large resource would otherwise build an answer hundreds of
// times the size of the request. When the next entry's answer would pass
// the cap and no entry has written yet, the whole Bundle is refused with 413
// there, before the rest is read; once an entry has written, that entry
// and each later one that would pass it is answered with its own 413.

#include <map>
#include <optional>
#include <span>

#include <rapidjson/error/en.h>

#include "fhirsync/base/fhir_json.h"
#include "fhirsync/base/text_util.h"
#include "server/bundle_json.h"
#include "server/fhir_ops.h"
#include "server/handlers.h"
#include "server/operation_outcome.h"
#include "server/request_target.h"
#include "server/response_cap.h"
#include "server/router.h"
#include "server/search_params.h"

namespace fhirsync::server {

namespace {

constexpr std::size_t kMaxEntries = 10000;

// One Bundle entry's request, checked and decoded.
struct EntryRequest {
  std::size_t index = 0;
  std::string full_url;
  HttpRequest request;  // method, segments, query, headers, body
  const rapidjson::Value* resource = nullptr;
  std::string label;  // "entry 3 (PUT Patient/1)" for messages
};

std::string MemberString(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return std::string();
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

StatusOr<EntryRequest> ReadEntry(const rapidjson::Value& entry, std::size_t index,
                                 const HttpRequest& outer) {
  EntryRequest out;
  out.index = index;
  out.label = "entry " + std::to_string(index);
  if (!entry.IsObject()) return InvalidArgumentError(out.label + ": is not a JSON object");
  out.full_url = MemberString(entry, "fullUrl");
  auto request_it = entry.FindMember("request");
  if (request_it == entry.MemberEnd() || !request_it->value.IsObject()) {
    return InvalidArgumentError(out.label + ": has no request object");
  }
  const rapidjson::Value& request = request_it->value;
  std::string method = MemberString(request, "method");
  std::string url = MemberString(request, "url");
  if (method != "GET" && method != "PUT" && method != "POST" && method != "DELETE") {
    return InvalidArgumentError(out.label + ": request.method '" + EscapeForMessage(method) +
                                "' is not GET, PUT, POST or DELETE");
  }
  if (url.empty()) return InvalidArgumentError(out.label + ": request.url is missing");
  // Accept "Patient/1", "/Patient/1" and the absolute form on this server.
  std::string_view relative = url;
  std::string own_base = outer.base_url + "/fhir/";
  if (relative.substr(0, own_base.size()) == own_base) relative.remove_prefix(own_base.size());
  while (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
  out.label += " (" + method + " " + EscapeForMessage(relative) + ")";
  out.request.method = method;
  out.request.base_url = outer.base_url;
  Status parsed = ParseRequestTarget("/fhir/" + std::string(relative), &out.request);
  if (!parsed.ok()) return parsed.WithContext(out.label);
  // An entry names a resource type path, never the system endpoints.
  if (out.request.segments.size() < 2 || out.request.segments[1] == "metadata" ||
      out.request.segments[1] == "_history") {
    return InvalidArgumentError(out.label + ": request.url must start with a resource type");
  }
  if (std::string if_match = MemberString(request, "ifMatch"); !if_match.empty()) {
    out.request.headers.emplace_back("If-Match", if_match);
  }
  if (std::string if_none = MemberString(request, "ifNoneExist"); !if_none.empty()) {
    out.request.headers.emplace_back("If-None-Exist", if_none);
  }
  // A write's precondition (ApplyIfNoneMatch), as the header of a PUT.
  if (std::string if_none = MemberString(request, "ifNoneMatch"); !if_none.empty()) {
    out.request.headers.emplace_back("If-None-Match", if_none);
  }
  auto resource_it = entry.FindMember("resource");
  if (resource_it != entry.MemberEnd()) out.resource = &resource_it->value;
  if ((method == "PUT" || method == "POST") && out.resource == nullptr) {
    return InvalidArgumentError(out.label + ": has no resource");
  }
  return out;
}

// The parts of an entry's "response" object.
void WriteEntryResponse(BundleWriter& bundle, const HttpResponse& response) {
  JsonWriter& w = bundle.json();
  w.StartObject();
  const bool has_json_body = !response.body.empty() && response.content_type == kFhirJson;
  if (has_json_body && response.status < 300) bundle.RawResource(response.body);
  w.Key("response");
  w.StartObject();
  w.Key("status");
  WriteString(w, StatusLine(response.status));
  if (const std::string* location = response.Header("Location")) {
    w.Key("location");
    WriteString(w, *location);
  }
  if (const std::string* etag = response.Header("ETag")) {
    w.Key("etag");
    WriteString(w, *etag);
  }
  if (const std::string* modified = response.Header("Last-Modified")) {
    w.Key("lastModified");
    WriteString(w, *modified);
  }
  if (has_json_body && response.status >= 300) {
    w.Key("outcome");
    w.RawValue(response.body.data(), response.body.size(), rapidjson::kObjectType);
  }
  w.EndObject();
  w.EndObject();
}

// The same error with "entry N (...): " in front of its diagnostics.
HttpResponse NameEntry(const HttpResponse& response, const std::string& label) {
  rapidjson::Document outcome;
  outcome.Parse(response.body.data(), response.body.size());
  if (outcome.HasParseError() || !outcome.IsObject()) return response;
  auto issues = outcome.FindMember("issue");
  if (issues == outcome.MemberEnd() || !issues->value.IsArray() || issues->value.Empty()) {
    return response;
  }
  const rapidjson::Value& issue = issues->value[0];
  return ErrorResponse(response.status, MemberString(issue, "code"),
                       label + ": " + MemberString(issue, "diagnostics"));
}

// The answer to a write the handler made itself: 201 for a create, 204 for
// a delete, else 200, with the new version's Location, ETag, Last-Modified.
HttpResponse WrittenEntryResponse(const HttpRequest& outer, const WriteResult& result) {
  HttpResponse response;
  response.status = !result.changed                          ? 200
                    : result.action == ChangeAction::kCreate ? 201
                    : result.action == ChangeAction::kDelete ? 204
                                                             : 200;
  response.SetHeader("Location", outer.base_url + "/fhir/" + result.type + "/" + result.id +
                                     "/_history/" + std::to_string(result.version));
  response.SetHeader("ETag", EtagFor(result.version));
  response.SetHeader("Last-Modified", HttpDate(result.last_updated_ms));
  return response;
}

// Bytes an entry's answer adds to the Bundle beside its body and header
// values: the member names, the status line, brackets and commas.
constexpr std::size_t kEntryFramingBytes = 160;

// A Bundle's answer, written entry by entry in order as the answers become
// final, within server.max_response_bytes (see the top of this file).
class EntryAnswers {
 public:
  EntryAnswers(std::string_view bundle_type, std::size_t entries, std::size_t cap)
      : bundle_(bundle_type), entries_(entries), cap_(cap) {
    bundle_.BeginEntries();
  }

  // Entry `index`'s answer; `label` names the entry, `writes` says it is a
  // write (PUT, POST, DELETE). Writes every answer now complete, in order.
  // Returns the 413 that refuses the whole Bundle when an answer would pass
  // the cap before any entry wrote (the caller answers with it and stops);
  // nullopt otherwise.
  std::optional<HttpResponse> Set(std::size_t index, HttpResponse answer, std::string label,
                                  bool writes) {
    if (writes && answer.status < 400) written_ = true;
    pending_.emplace(index, Pending{std::move(answer), std::move(label)});
    for (auto it = pending_.find(next_); it != pending_.end(); it = pending_.find(next_)) {
      if (std::optional<HttpResponse> refused = Write(it->second)) return refused;
      pending_.erase(it);
      ++next_;
    }
    return std::nullopt;
  }

  HttpResponse Finish() {
    bundle_.EndEntries();
    HttpResponse response;
    response.content_type = kFhirJson;
    response.body = bundle_.Finish();
    return response;
  }

 private:
  struct Pending {
    HttpResponse answer;
    std::string label;
  };

  std::optional<HttpResponse> Write(const Pending& pending) {
    std::size_t added = pending.answer.Body().size() + kEntryFramingBytes;
    for (const auto& header : pending.answer.headers) added += header.second.size();
    if (FitsResponseCap(bundle_.size(), added, cap_)) {
      WriteEntryResponse(bundle_, pending.answer);
      return std::nullopt;
    }
    if (!written_) {
      const Status over = OverResponseCapError("the answer to this Bundle, at " + pending.label +
                                                   " of " + std::to_string(entries_) + " entries,",
                                               cap_);
      return ErrorResponse(Status(over.code(), over.message() + "; nothing was written: send "
                                                                "fewer entries per Bundle"));
    }
    WriteEntryResponse(bundle_, ErrorResponse(OverResponseCapError(
                                    pending.label + ": its answer", cap_)));
    return std::nullopt;
  }

  BundleWriter bundle_;
  std::size_t entries_;
  std::size_t cap_;
  std::size_t next_ = 0;  // the first entry not yet written
  bool written_ = false;  // an entry has written
  std::map<std::size_t, Pending> pending_;
};

// A batch entry that writes one resource by id: PUT or DELETE Type/id.
bool IsWriteById(const EntryRequest& entry) {
  return (entry.request.method == "PUT" || entry.request.method == "DELETE") &&
         entry.request.segments.size() == 3;
}

// The checked WriteOp of a write by id, or the error to answer (with
// PrepareErrorResponse(): a broken business rule is a 422).
StatusOr<WriteOp> PrepareWriteById(ServerContext& context, const EntryRequest& entry) {
  const auto& s = entry.request.segments;
  FHIRSYNC_RETURN_IF_ERROR(CheckTypeAndId(s[1], s[2]));
  FHIRSYNC_ASSIGN_OR_RETURN(std::optional<std::int64_t> expected,
                            ParseIfMatch(entry.request.Header("If-Match")));
  WriteOp op;
  if (entry.request.method == "DELETE") {
    op = PrepareDelete(s[1], s[2], expected);
  } else {
    FHIRSYNC_ASSIGN_OR_RETURN(op, PrepareUpdate(context, s[1], s[2], entry.request.body, expected));
  }
  FHIRSYNC_RETURN_IF_ERROR(ApplyIfNoneMatch(context, entry.request.Header("If-None-Match"), &op));
  return op;
}

// Writes a run of writes by id (see the file comment); one answer each.
std::vector<HttpResponse> RunWrites(ServerContext& context, const HttpRequest& outer,
                                    std::vector<EntryRequest>& run) {
  std::vector<HttpResponse> answers(run.size());
  std::vector<WriteOp> ops;
  std::vector<std::size_t> op_of;  // ops[k] is run[op_of[k]]
  for (std::size_t i = 0; i < run.size(); ++i) {
    StatusOr<WriteOp> op = PrepareWriteById(context, run[i]);
    if (!op.ok()) {
      answers[i] = NameEntry(PrepareErrorResponse(op.status()), run[i].label);
      continue;
    }
    ops.push_back(std::move(*op));
    op_of.push_back(i);
  }
  if (ops.size() > 1) {
    auto written = context.store->Write(ops, WriteOptions{});
    if (written.ok()) {
      for (std::size_t k = 0; k < ops.size(); ++k) {
        answers[op_of[k]] = WrittenEntryResponse(outer, (*written)[k]);
      }
      return answers;
    }
  }
  // One failed (or there is just one): each on its own.
  for (std::size_t k = 0; k < ops.size(); ++k) {
    auto written = context.store->Write(std::span<const WriteOp>(&ops[k], 1), WriteOptions{});
    answers[op_of[k]] = written.ok()
                            ? WrittenEntryResponse(outer, written->front())
                            : NameEntry(WriteErrorResponse(written.status()), run[op_of[k]].label);
  }
  return answers;
}

HttpResponse RunBatch(ServerContext& context, const HttpRequest& outer,
                      const rapidjson::Value& entries) {
  EntryAnswers answers("batch-response", entries.Size(), context.config.max_response_bytes);
  std::vector<EntryRequest> run;  // consecutive writes by id, not yet made
  auto flush = [&]() -> std::optional<HttpResponse> {
    std::vector<HttpResponse> written = RunWrites(context, outer, run);
    std::vector<EntryRequest> done = std::move(run);
    run.clear();
    for (std::size_t i = 0; i < done.size(); ++i) {
      if (auto refused = answers.Set(done[i].index, std::move(written[i]),
                                     std::move(done[i].label), /*writes=*/true)) {
        return refused;
      }
    }
    return std::nullopt;
  };
  for (rapidjson::SizeType i = 0; i < entries.Size(); ++i) {
    auto entry = ReadEntry(entries[i], i, outer);
    if (!entry.ok()) {
      if (auto refused = answers.Set(i, ErrorResponse(entry.status()),
                                     "entry " + std::to_string(i), /*writes=*/false)) {
        return *refused;
      }
      continue;
    }
    if (entry->resource != nullptr) entry->request.body = WriteJson(*entry->resource);
    if (IsWriteById(*entry)) {
      run.push_back(std::move(*entry));
      continue;
    }
    // A later read or create sees the writes before it.
    if (auto refused = flush()) return *refused;
    HttpResponse response = Dispatch(context, entry->request);
    if (response.status >= 400) response = NameEntry(response, entry->label);
    const bool writes = entry->request.method != "GET";
    if (auto refused = answers.Set(i, std::move(response), std::move(entry->label), writes)) {
      return *refused;
    }
  }
  if (auto refused = flush()) return *refused;
  return answers.Finish();
}

// Replaces every "reference" equal to a key of `ids` by its value.
void RewriteReferences(rapidjson::Value& value, const std::map<std::string, std::string>& ids,
                       rapidjson::Document::AllocatorType& alloc) {
  if (value.IsObject()) {
    for (auto& member : value.GetObject()) {
      if (member.name == "reference" && member.value.IsString()) {
        auto it = ids.find(std::string(member.value.GetString(), member.value.GetStringLength()));
        if (it != ids.end()) {
          member.value.SetString(it->second.data(),
                                 static_cast<rapidjson::SizeType>(it->second.size()), alloc);
        }
      } else {
        RewriteReferences(member.value, ids, alloc);
      }
    }
  } else if (value.IsArray()) {
    for (auto& element : value.GetArray()) RewriteReferences(element, ids, alloc);
  }
}

// What a transaction entry turned into.
struct Planned {
  EntryRequest entry;
  std::optional<std::size_t> op;        // index into the ops, if it writes
  std::optional<Resource> existing;     // a conditional create that matched
};

HttpResponse RunTransaction(ServerContext& context, const HttpRequest& outer,
                            rapidjson::Value& entries,
                            rapidjson::Document::AllocatorType& alloc) {
  std::vector<EntryRequest> read;
  read.reserve(entries.Size());
  std::map<std::string, std::string> new_ids;  // "urn:uuid:x" -> "Patient/x"
  for (rapidjson::SizeType i = 0; i < entries.Size(); ++i) {
    auto entry = ReadEntry(entries[i], i, outer);
    if (!entry.ok()) {
      return ErrorResponse(400, "invalid",
                           "transaction failed, nothing was written: " + entry.status().message());
    }
    read.push_back(std::move(*entry));
  }
  // Pass 1: ids for creates, so that references can be resolved.
  std::vector<std::string> create_ids(read.size());
  for (EntryRequest& entry : read) {
    if (entry.request.method != "POST") continue;
    std::string id;
    if (entry.full_url.rfind("urn:uuid:", 0) == 0 &&
        ValidateId(entry.full_url.substr(9)).ok()) {
      id = entry.full_url.substr(9);
    } else {
      id = NewUuid();
    }
    create_ids[entry.index] = id;
    if (!entry.full_url.empty()) new_ids[entry.full_url] = entry.request.segments[1] + "/" + id;
  }
  // Pass 2: one WriteOp per write entry.
  std::vector<WriteOp> ops;
  std::vector<Planned> plan;
  for (EntryRequest& entry : read) {
    Planned planned;
    const auto& s = entry.request.segments;
    const std::string& method = entry.request.method;
    StatusOr<WriteOp> op = InvalidArgumentError("unreachable");
    if (method == "GET") {
      plan.push_back(Planned{std::move(entry), std::nullopt, std::nullopt});
      continue;
    }
    if (entry.resource != nullptr && !new_ids.empty()) {
      RewriteReferences(*const_cast<rapidjson::Value*>(entry.resource), new_ids, alloc);
    }
    if (method == "POST") {
      if (s.size() != 2) {
        op = InvalidArgumentError("a create's url must be just the type");
      } else {
        if (const std::string* condition = entry.request.Header("If-None-Exist")) {
          auto params = ParseQueryString(*condition);
          StatusOr<SearchQuery> query =
              params.ok() ? ParseSearchParams(s[1], *params) : StatusOr<SearchQuery>(params.status());
          if (!query.ok()) {
            return ErrorResponse(400, "invalid",
                                 "transaction failed, nothing was written: " + entry.label +
                                     ": ifNoneExist: " + query.status().message());
          }
          query->offset = 0;
          query->limit = 2;
          auto found = context.store->Search(*query);
          if (!found.ok()) return ErrorResponse(found.status());
          if (found->total > 1) {
            return ErrorResponse(412, "duplicate",
                                 "transaction failed, nothing was written: " + entry.label +
                                     ": ifNoneExist matches " + std::to_string(found->total) +
                                     " resources");
          }
          if (found->total == 1 && !found->resources.empty()) {
            planned.existing = found->resources.front();
            planned.entry = std::move(entry);
            plan.push_back(std::move(planned));
            continue;
          }
        }
        op = PrepareCreate(context, s[1], create_ids[entry.index], WriteJson(*entry.resource));
      }
    } else if (s.size() != 3) {
      op = InvalidArgumentError("url must be Type/id");
    } else {
      auto expected = ParseIfMatch(entry.request.Header("If-Match"));
      if (!expected.ok()) {
        op = expected.status();
      } else if (method == "PUT") {
        op = PrepareUpdate(context, s[1], s[2], WriteJson(*entry.resource), *expected);
        if (op.ok()) {
          Status create_only =
              ApplyIfNoneMatch(context, entry.request.Header("If-None-Match"), &*op);
          if (!create_only.ok()) op = create_only;
        }
      } else {
        Status valid = CheckTypeAndId(s[1], s[2]);
        op = valid.ok() ? StatusOr<WriteOp>(PrepareDelete(s[1], s[2], *expected))
                        : StatusOr<WriteOp>(valid);
      }
    }
    if (!op.ok()) {
      HttpResponse error = PrepareErrorResponse(op.status());
      const bool rule = error.status == 422;
      return ErrorResponse(error.status, rule ? "business-rule" : IssueCodeFor(op.status().code()),
                           "transaction failed, nothing was written: " + entry.label + ": " +
                               op.status().message());
    }
    planned.op = ops.size();
    ops.push_back(std::move(*op));
    planned.entry = std::move(entry);
    plan.push_back(std::move(planned));
  }
  // The one store call: all or nothing.
  std::vector<WriteResult> results;
  if (!ops.empty()) {
    auto written = context.store->Write(ops, WriteOptions{});
    if (!written.ok()) {
      HttpResponse error = WriteErrorResponse(written.status());
      return ErrorResponse(error.status, IssueCodeFor(written.status().code()),
                           "transaction failed, nothing was written: " +
                               written.status().message());
    }
    results = std::move(*written);
  }
  EntryAnswers answers("transaction-response", plan.size(), context.config.max_response_bytes);
  for (std::size_t i = 0; i < plan.size(); ++i) {
    Planned& planned = plan[i];
    HttpResponse response;
    if (planned.op) {
      response = WrittenEntryResponse(outer, results[*planned.op]);
    } else if (planned.existing) {
      response.status = 200;
      AddVersionHeaders(*planned.existing, &response);
    } else {
      response = Dispatch(context, planned.entry.request);
    }
    if (auto refused = answers.Set(i, std::move(response), std::move(planned.entry.label),
                                   planned.op.has_value())) {
      return *refused;
    }
  }
  return answers.Finish();
}

}  // namespace

bool IsReadOnlyBundle(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject() || MemberString(doc, "resourceType") != "Bundle") {
    return false;
  }
  const std::string type = MemberString(doc, "type");
  if (type != "batch" && type != "transaction") return false;
  auto entries = doc.FindMember("entry");
  if (entries == doc.MemberEnd()) return true;
  if (!entries->value.IsArray()) return false;
  for (const rapidjson::Value& entry : entries->value.GetArray()) {
    if (!entry.IsObject()) return false;
    auto request = entry.FindMember("request");
    if (request == entry.MemberEnd() || !request->value.IsObject() ||
        MemberString(request->value, "method") != "GET") {
      return false;
    }
  }
  return true;
}

HttpResponse HandleBundle(ServerContext& context, const HttpRequest& request) {
  if (request.body.size() > context.config.max_request_bytes) {
    return ErrorResponse(413, "too-costly", "Bundle is over server.max_request_bytes");
  }
  if (Status zero = CheckNoZeroWithExponent(request.body); !zero.ok()) {
    return ErrorResponse(400, "invalid", "Bundle: " + zero.message());
  }
  rapidjson::Document doc;
  // Full precision: entries are re-serialised and must keep their numbers.
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(request.body.data(), request.body.size());
  if (doc.HasParseError()) {
    return ErrorResponse(400, "invalid",
                         std::string("body is not valid JSON: ") +
                             rapidjson::GetParseError_En(doc.GetParseError()) + " (at byte " +
                             std::to_string(doc.GetErrorOffset()) + ")");
  }
  if (!doc.IsObject()) return ErrorResponse(400, "invalid", "body is not a JSON object");
  std::string resource_type = MemberString(doc, "resourceType");
  if (resource_type != "Bundle") {
    return ErrorResponse(400, "invalid",
                         "POST /fhir takes a Bundle, not '" + EscapeForMessage(resource_type) +
                             "'");
  }
  std::string type = MemberString(doc, "type");
  auto entries_it = doc.FindMember("entry");
  rapidjson::Value empty(rapidjson::kArrayType);
  rapidjson::Value* entries = &empty;
  if (entries_it != doc.MemberEnd()) {
    if (!entries_it->value.IsArray()) {
      return ErrorResponse(400, "invalid", "Bundle.entry is not an array");
    }
    entries = &entries_it->value;
  }
  if (entries->Size() > kMaxEntries) {
    return ErrorResponse(413, "too-costly",
                         "Bundle has " + std::to_string(entries->Size()) +
                             " entries, over the limit of " + std::to_string(kMaxEntries));
  }
  if (type == "batch") return RunBatch(context, request, *entries);
  if (type == "transaction") return RunTransaction(context, request, *entries, doc.GetAllocator());
  return ErrorResponse(400, "invalid",
                       "Bundle type '" + EscapeForMessage(type) +
                           "' is not supported here (expected batch or transaction)");
}

}  // namespace fhirsync::server
