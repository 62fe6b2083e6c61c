// Fuzzes the Bundle endpoint (POST /fhir, server/bundle_handler.cc) with the
// bodies a child, or anyone holding a token, could post: batch and
// transaction Bundles of reads, creates, updates and deletes, run against a
// real SQLite store, after the checks the HTTP adapter makes first (the
// depth guard, and the read-only test a reader's Bundle gets).
//
// Properties: no crash, no sanitizer report; every answer is a complete
// JSON document (a Bundle, or an OperationOutcome naming the problem); no
// hostile body makes a 500 (an unexpected exception or store failure).
// The store keeps what earlier inputs wrote, so later inputs meet existing
// resources and versions, as a real server does.

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "fuzz_store.h"
#include "server/handlers.h"
#include "fhirsync/base/json_depth.h"
#include "server/router.h"
#include "server/server_context.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fhirsync::server;
  static ServerContext* context = [] {
    auto* c = new ServerContext;
    c->store = &fhirsync::fuzz::FuzzStore();
    c->node_id = "fuzz-node";
    c->config.max_request_bytes = 256 * 1024;
    c->config.rules.push_back({"patient-birth-date", "Patient", {"birthDate", "name.family"},
                               "the registry needs a birth date"});
    return c;
  }();

  HttpRequest request;
  request.method = "POST";
  request.segments = {"fhir"};
  request.base_url = "http://parent.example";
  request.headers = {{"Content-Type", "application/fhir+json"}};
  request.body.assign(reinterpret_cast<const char*>(data), size);
  // What the HTTP adapter does before dispatching a body.
  if (!fhirsync::CheckJsonDepth(request.body).ok()) return 0;
  (void)IsReadOnlyBundle(request.body);

  HttpResponse response = Dispatch(*context, request);
  FUZZ_CHECK(response.status >= 200 && response.status < 600,
             "status " + std::to_string(response.status));
  FUZZ_CHECK(response.status != 500, "a 500 answer: " + response.Body());
  rapidjson::Document answer;
  answer.Parse(response.Body().data(), response.Body().size());
  FUZZ_CHECK(!answer.HasParseError() && answer.IsObject(),
             "the answer is not a JSON object: " + response.Body());
  return 0;
}
