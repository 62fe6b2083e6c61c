// fhirsync put: creates or updates one resource from a file or stdin.

#include <iostream>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "body_input.h"
#include "fhirsync/base/json_depth.h"
#include "command.h"
#include "fhirsync/local_store.h"
#include "node.h"
#include "output.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync put [FILE|-] [--type T --id ID] [--format fhir+json|openmrs-rest]\n"
    "                    [--if-match N] [--json] [--dir D]\n"
    "\n"
    "Creates or updates one resource, read from FILE or, without FILE or with '-',\n"
    "from stdin. The write gets the resource's next version, a row in the node's\n"
    "change feed and an outbox row, in one transaction. Prints TYPE/ID, the new\n"
    "version and whether it was created, updated or unchanged (same content).\n"
    "\n"
    "  --type T        resource type; default: the body's resourceType (fhir+json).\n"
    "                  Required for openmrs-rest (the REST resource name, e.g. patient)\n"
    "  --id ID         resource id; default: the body's id (fhir+json) or uuid\n"
    "                  (openmrs-rest); without any, the node assigns a UUID\n"
    "  --format F      fhir+json (default) or openmrs-rest\n"
    "  --if-match N    write only if the current version is N (0: only if it does\n"
    "                  not exist yet); otherwise fail with exit status 3 (conflict)\n"
    "  --json          print the outcome as JSON\n"
    "  --dir D         the node folder (default: $FHIRSYNC_DIR or .)\n";

// The uuid an OpenMRS REST body names, "" if none. InvalidArgument if the
// body is not a JSON object.
StatusOr<std::string> RestBodyUuid(const std::string& body) {
  FHIRSYNC_RETURN_IF_ERROR(CheckJsonDepth(body));
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) {
    return InvalidArgumentError(std::string("body is not valid JSON: ") +
                                rapidjson::GetParseError_En(doc.GetParseError()) + " (at byte " +
                                std::to_string(doc.GetErrorOffset()) + ")");
  }
  if (!doc.IsObject()) return InvalidArgumentError("body is not a JSON object");
  auto it = doc.FindMember("uuid");
  if (it == doc.MemberEnd()) return std::string();
  if (!it->value.IsString()) return InvalidArgumentError("body: uuid is not a string");
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

int RunPut(const Invocation& invocation) {
  CommandLine cl(invocation);
  std::string type;
  std::string id;
  std::string format_name = "fhir+json";
  std::int64_t if_match = 0;
  bool json = false;
  cl.flags().AddString("type", "T", &type);
  cl.flags().AddString("id", "ID", &id);
  cl.flags().AddString("format", "fhir+json|openmrs-rest", &format_name);
  cl.flags().AddInt("if-match", "N", &if_match, 0);
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(0, 1)) return *exit;

  StatusOr<ResourceFormat> format = ParseResourceFormat(format_name);
  if (!format.ok()) return cl.UsageError("--format: " + format.status().message());
  if (*format == ResourceFormat::kOpenmrsRest && type.empty()) {
    return cl.UsageError("--type is required with --format openmrs-rest");
  }

  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());

  const std::string source = cl.positional().empty() ? "-" : cl.positional()[0];
  StatusOr<std::string> body = ReadBody(source, (*node)->config().store.max_body_bytes);
  if (!body.ok()) return cl.Fail(body.status());

  WriteOp op;
  op.kind = WriteOp::Kind::kPut;
  op.format = *format;
  op.type = type;
  op.id = id;
  if (*format == ResourceFormat::kFhirJson) {
    // Checked here as well as in the store so that a missing type is
    // reported as a problem of the body, and so the defaults come from it.
    StatusOr<ParsedBodyInfo> info = InspectFhirBody(*body, (*node)->config().store.max_body_bytes);
    if (!info.ok()) return cl.Fail(info.status());
    if (op.type.empty()) op.type = info->resource_type;
    if (op.id.empty()) op.id = info->id;
  } else if (op.id.empty()) {
    StatusOr<std::string> uuid = RestBodyUuid(*body);
    if (!uuid.ok()) return cl.Fail(uuid.status());
    op.id = *uuid;
  }
  op.body = std::move(*body);
  if (cl.Seen("if-match")) op.expected_version = if_match;

  StatusOr<WriteResult> result = (*node)->store().Put(op);
  if (!result.ok()) return cl.Fail(result.status());

  if (json) {
    JsonOutput out;
    out.StartObject();
    WriteWriteResultFields(out, *result);
    out.EndObject();
    out.Print();
  } else {
    std::cout << result->type << '/' << result->id << " version " << result->version << ' '
              << (!result->changed ? "unchanged (same content)"
                  : result->action == ChangeAction::kCreate ? "created"
                                                            : "updated")
              << '\n';
  }
  return kExitOk;
}

}  // namespace

extern const Command kPutCommand = {"put", "create or update one resource from a file or stdin",
                                    kHelp, &RunPut};

}  // namespace fhirsync::cli
