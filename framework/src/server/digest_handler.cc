// GET /fhir/$digest: the parent's side of `fhirsync verify` (see
// fhirsync/digest.h). Read role, like every GET.
//
//   /fhir/$digest                          one whole-type range per type
//   /fhir/$digest?type=T[&from=A][&to=B]&parts=N   [A, B) split in N
//   /fhir/$digest?type=T[&from=A][&to=B]&list=true every entry of [A, B)
//
// Answers {"node_id", "ranges": [{type, from, to, count, digest}]} or
// {"node_id", "entries": [{id, version, hash, updated_ms}]}.
//
// Its answers are small by construction (at most kMaxDigestParts ranges, one
// range per type held, or kMaxDigestListEntries entries); one that would
// still pass server.max_response_bytes (a cap set very low) is a 413.

#include <charconv>

#include "fhirsync/base/text_util.h"
#include "fhirsync/digest.h"
#include "server/bundle_json.h"
#include "server/handlers.h"
#include "server/operation_outcome.h"
#include "server/response_cap.h"

namespace fhirsync::server {

namespace {

HttpResponse JsonResponse(const ServerContext& context, std::string body) {
  if (body.size() > context.config.max_response_bytes) {
    return ErrorResponse(
        OverResponseCapError("the digest answer", context.config.max_response_bytes));
  }
  HttpResponse response;
  response.status = 200;
  response.content_type = "application/json; charset=utf-8";
  response.body = std::move(body);
  return response;
}

void WriteRanges(JsonWriter& w, const std::vector<DigestRange>& ranges) {
  w.Key("ranges");
  w.StartArray();
  for (const DigestRange& range : ranges) {
    w.StartObject();
    w.Key("type");
    WriteString(w, range.type);
    w.Key("from");
    WriteString(w, range.from_id);
    w.Key("to");
    WriteString(w, range.to_id);
    w.Key("count");
    w.Int64(range.count);
    w.Key("digest");
    WriteString(w, range.digest);
    w.EndObject();
  }
  w.EndArray();
}

// An optional id bound: empty is open, anything else must be a valid id.
Status ReadBound(const HttpRequest& request, const char* name, std::string* bound) {
  const std::string* value = request.Query(name);
  if (value == nullptr || value->empty()) return Status::Ok();
  if (Status st = ValidateId(*value); !st.ok()) {
    return InvalidArgumentError(std::string("parameter '") + name + "': " + st.message());
  }
  *bound = *value;
  return Status::Ok();
}

}  // namespace

HttpResponse HandleDigest(ServerContext& context, const HttpRequest& request) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("node_id");
  WriteString(w, context.node_id);

  const std::string* type = request.Query("type");
  if (type == nullptr) {
    StatusOr<std::vector<DigestRange>> ranges = StoreTypeDigests(*context.store);
    if (!ranges.ok()) return ErrorResponse(ranges.status());
    WriteRanges(w, *ranges);
    w.EndObject();
    return JsonResponse(context, std::string(buffer.GetString(), buffer.GetSize()));
  }
  if (Status st = ValidateResourceType(*type); !st.ok()) {
    return ErrorResponse(400, "invalid", "parameter 'type': " + st.message());
  }
  std::string from_id;
  std::string to_id;
  if (Status st = ReadBound(request, "from", &from_id); !st.ok()) return ErrorResponse(st);
  if (Status st = ReadBound(request, "to", &to_id); !st.ok()) return ErrorResponse(st);

  const std::string* list = request.Query("list");
  if (list != nullptr && *list == "true") {
    StatusOr<std::vector<DigestEntry>> entries =
        StoreListDigest(*context.store, *type, from_id, to_id);
    if (!entries.ok()) return ErrorResponse(entries.status());
    w.Key("entries");
    w.StartArray();
    for (const DigestEntry& entry : *entries) {
      w.StartObject();
      w.Key("id");
      WriteString(w, entry.id);
      w.Key("version");
      w.Int64(entry.version);
      w.Key("hash");
      WriteString(w, entry.content_hash);
      w.Key("updated_ms");
      w.Int64(entry.last_updated_ms);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return JsonResponse(context, std::string(buffer.GetString(), buffer.GetSize()));
  }
  if (list != nullptr && *list != "false") {
    return ErrorResponse(400, "invalid",
                         "parameter 'list' must be true or false, got '" +
                             EscapeForMessage(*list) + "'");
  }
  const std::string* parts_text = request.Query("parts");
  int parts = 1;
  if (parts_text != nullptr) {
    auto [end, error] =
        std::from_chars(parts_text->data(), parts_text->data() + parts_text->size(), parts);
    if (error != std::errc() || end != parts_text->data() + parts_text->size()) {
      return ErrorResponse(400, "invalid",
                           "parameter 'parts' is not a number: '" +
                               EscapeForMessage(*parts_text) + "'");
    }
  }
  StatusOr<std::vector<DigestRange>> ranges =
      StoreSplitDigest(*context.store, *type, from_id, to_id, parts);
  if (!ranges.ok()) return ErrorResponse(ranges.status());
  WriteRanges(w, *ranges);
  w.EndObject();
  return JsonResponse(context, std::string(buffer.GetString(), buffer.GetSize()));
}

}  // namespace fhirsync::server
