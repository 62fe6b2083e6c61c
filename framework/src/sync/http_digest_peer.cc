// The parent's $digest endpoint as a DigestPeer (see fhirsync/digest.h).

#include <Poco/URI.h>
#include <rapidjson/document.h>

#include <utility>

#include "fhirsync/base/json_depth.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/digest.h"
#include "fhirsync/http_status.h"
#include "fhirsync/net/http_transport.h"

namespace fhirsync {
namespace {

std::string Encode(const std::string& value) {
  std::string out;
  Poco::URI::encode(value, "!#$&'()*+,/:;=?@[]", out);
  return out;
}

const rapidjson::Value* Member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

bool GetString(const rapidjson::Value& object, const char* name, std::string* out) {
  const rapidjson::Value* v = Member(object, name);
  if (v == nullptr || !v->IsString()) return false;
  out->assign(v->GetString(), v->GetStringLength());
  return true;
}

bool GetInt(const rapidjson::Value& object, const char* name, std::int64_t* out) {
  const rapidjson::Value* v = Member(object, name);
  if (v == nullptr || !v->IsInt64()) return false;
  *out = v->GetInt64();
  return true;
}

class HttpDigestPeer : public DigestPeer {
 public:
  HttpDigestPeer(const net::HttpEndpoint& endpoint, const ParentEndpoint& parent)
      : base_path_(endpoint.base_path),
        transport_(net::HttpTransportOptions{
            .host = endpoint.host,
            .port = endpoint.port,
            .tls = endpoint.tls,
            .ca_file = parent.ca_file,
            .auth = parent.auth,
            .deadline_ms = parent.deadline_ms,
            .max_response_bytes = parent.max_answer_bytes,
            .node_id = parent.own_node_id}) {}

  StatusOr<std::vector<DigestRange>> TypeDigests() override {
    return Ranges("/fhir/$digest");
  }

  StatusOr<std::vector<DigestRange>> Split(const std::string& type, const std::string& from_id,
                                           const std::string& to_id, int parts) override {
    return Ranges(Target(type, from_id, to_id) + "&parts=" + std::to_string(parts));
  }

  StatusOr<std::vector<DigestEntry>> List(const std::string& type, const std::string& from_id,
                                          const std::string& to_id) override {
    const std::string target = Target(type, from_id, to_id) + "&list=true";
    rapidjson::Document doc;
    FHIRSYNC_RETURN_IF_ERROR(Get(target, &doc));
    const rapidjson::Value* entries = Member(doc, "entries");
    if (entries == nullptr || !entries->IsArray()) return Malformed(target, "no 'entries' array");
    std::vector<DigestEntry> out;
    out.reserve(entries->Size());
    for (const rapidjson::Value& e : entries->GetArray()) {
      DigestEntry entry;
      if (!GetString(e, "id", &entry.id) || !GetInt(e, "version", &entry.version) ||
          !GetString(e, "hash", &entry.content_hash) ||
          !GetInt(e, "updated_ms", &entry.last_updated_ms)) {
        return Malformed(target, "an entry lacks id, version, hash or updated_ms");
      }
      out.push_back(std::move(entry));
    }
    return out;
  }

 private:
  std::string Target(const std::string& type, const std::string& from_id,
                     const std::string& to_id) const {
    return "/fhir/$digest?type=" + Encode(type) + "&from=" + Encode(from_id) +
           "&to=" + Encode(to_id);
  }

  static Status Malformed(const std::string& target, const std::string& what) {
    return InternalError("parent answer to GET " + EscapeForMessage(target) +
                         " does not parse: " + what);
  }

  Status Get(const std::string& target, rapidjson::Document* doc) {
    ++requests_;
    net::HttpAnswer answer = transport_.Exchange({"GET", base_path_ + target, {}, {}, {}});
    if (!answer.transport.ok()) {
      return Status(answer.transport.code(), "GET " + EscapeForMessage(base_path_ + target) +
                                                 ": " + answer.transport.message());
    }
    if (answer.status != 200) {
      return Status(StatusCodeForHttpStatus(answer.status),
                    "GET " + EscapeForMessage(base_path_ + target) + ": HTTP " +
                        std::to_string(answer.status) + " " +
                        EscapeForMessage(answer.body, 300));
    }
    if (Status depth = CheckJsonDepth(answer.body, kMaxJsonAnswerDepth, "answer"); !depth.ok()) {
      return Malformed(target, depth.message());
    }
    doc->Parse(answer.body.data(), answer.body.size());
    if (doc->HasParseError() || !doc->IsObject()) return Malformed(target, "not a JSON object");
    return Status::Ok();
  }

  StatusOr<std::vector<DigestRange>> Ranges(const std::string& target) {
    rapidjson::Document doc;
    FHIRSYNC_RETURN_IF_ERROR(Get(target, &doc));
    const rapidjson::Value* ranges = Member(doc, "ranges");
    if (ranges == nullptr || !ranges->IsArray()) return Malformed(target, "no 'ranges' array");
    std::vector<DigestRange> out;
    for (const rapidjson::Value& r : ranges->GetArray()) {
      DigestRange range;
      if (!GetString(r, "type", &range.type) || !GetString(r, "from", &range.from_id) ||
          !GetString(r, "to", &range.to_id) || !GetInt(r, "count", &range.count) ||
          !GetString(r, "digest", &range.digest)) {
        return Malformed(target, "a range lacks type, from, to, count or digest");
      }
      out.push_back(std::move(range));
    }
    return out;
  }

  std::string base_path_;
  net::HttpTransport transport_;
  std::int64_t requests_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<DigestPeer>> MakeHttpDigestPeer(const ParentEndpoint& parent) {
  net::HttpEndpoint endpoint;
  FHIRSYNC_RETURN_IF_ERROR(net::ParseHttpBaseUrl(
      parent.fhir_base.empty() ? parent.url : parent.fhir_base, "parent URL", &endpoint));
  // The node's base URL; a FHIR base ("…/fhir") names the same node.
  const std::string kFhirSuffix = "/fhir";
  if (endpoint.base_path.size() >= kFhirSuffix.size() &&
      endpoint.base_path.compare(endpoint.base_path.size() - kFhirSuffix.size(),
                                 kFhirSuffix.size(), kFhirSuffix) == 0) {
    endpoint.base_path.resize(endpoint.base_path.size() - kFhirSuffix.size());
  }
  return std::unique_ptr<DigestPeer>(std::make_unique<HttpDigestPeer>(endpoint, parent));
}

StatusOr<std::unique_ptr<DigestPeer>> MakeHttpDigestPeer(
    const std::string& base_url, const std::string& user, const std::string& password,
    std::size_t max_answer_bytes, int deadline_ms) {
  ParentEndpoint parent;
  parent.url = base_url;
  parent.auth.user = user;
  parent.auth.password = password;
  parent.max_answer_bytes = max_answer_bytes;
  parent.deadline_ms = deadline_ms;
  return MakeHttpDigestPeer(parent);
}

}  // namespace fhirsync
