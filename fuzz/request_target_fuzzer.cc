// Fuzzes the request target parser (server/request_target.cc) with the
// URL of an HTTP request line, then routes the parsed request as a read
// (GET, HEAD) or a DELETE through the router (server/router.cc) against a
// real SQLite store holding a few resources: search parameters, history
// and feed paging, the admin API, OpenMRS REST reads.
//
// Properties: no crash or sanitizer report; a target under 8 KiB whose
// %-escapes are well formed is accepted; no parsed segment is empty;
// every answer is a JSON object (or the Atom feed's XML) and never a 500.

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "fuzz_store.h"
#include "server/request_target.h"
#include "server/router.h"
#include "server/server_context.h"

namespace {

using namespace fhirsync::server;

ServerContext& Context() {
  static ServerContext* context = [] {
    auto* c = new ServerContext;
    c->store = &fhirsync::fuzz::FuzzStore();
    c->node_id = "fuzz-node";
    c->config.feed_page_size = 3;
    const char* bodies[] = {
        R"({"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1980-02-03"})",
        R"({"resourceType":"Patient","id":"p2","name":[{"family":"Okafor"}]})",
        R"({"resourceType":"Encounter","id":"e1","status":"finished",)"
        R"("subject":{"reference":"Patient/p1"}})",
    };
    for (const char* body : bodies) {
      rapidjson::Document doc;
      doc.Parse(body);
      HttpRequest put;
      put.method = "PUT";
      put.segments = {"fhir", doc["resourceType"].GetString(), doc["id"].GetString()};
      put.body = body;
      HttpResponse written = Dispatch(*c, put);
      FUZZ_CHECK(written.status < 300, "seeding the store: " + written.Body());
    }
    return c;
  }();
  return *context;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view target(reinterpret_cast<const char*>(data), size);
  HttpRequest request;
  // The method by the target's size, so that a seed is a plain target.
  request.method = size % 8 == 0 ? "DELETE" : size % 8 == 1 ? "HEAD" : "GET";
  request.base_url = "http://parent.example";
  fhirsync::Status parsed = ParseRequestTarget(target, &request);
  // A "." or ".." segment of the path, as sent: refused, because it would
  // name one route in several ways.
  bool dot_segment = false;
  const std::string_view path = target.substr(0, target.find('?'));
  for (std::size_t start = 0; start <= path.size();) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    // Segments are split with SplitList, which trims spaces.
    while (!segment.empty() && segment.front() == ' ') segment.remove_prefix(1);
    while (!segment.empty() && segment.back() == ' ') segment.remove_suffix(1);
    dot_segment = dot_segment || segment == "." || segment == "..";
    start = end + 1;
  }
  if (!parsed.ok()) {
    FUZZ_CHECK(target.size() > 8192 || target.find('%') != std::string_view::npos || dot_segment,
               "a target was refused: " + parsed.message());
    return 0;
  }
  FUZZ_CHECK(!dot_segment, "a dot segment was taken: " + std::string(target));
  for (const std::string& segment : request.segments) {
    FUZZ_CHECK(!segment.empty(), "an empty segment from " + std::string(target));
    FUZZ_CHECK(segment != "." && segment != "..", "a dot segment from " + std::string(target));
  }
  HttpResponse response = Dispatch(Context(), request);
  FUZZ_CHECK(response.status != 500, "a 500 answer: " + response.Body());
  if (response.content_type.find("json") != std::string::npos) {
    rapidjson::Document answer;
    answer.Parse(response.Body().data(), response.Body().size());
    FUZZ_CHECK(!answer.HasParseError() && answer.IsObject(),
               "the answer is not a JSON object: " + response.Body());
  }
  return 0;
}
