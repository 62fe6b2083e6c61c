// Business rules (internal): what the parent refuses to accept although the
// body is valid FHIR, e.g. "a Patient needs a birth date". The rules come
// from server.rules in fhirsync.json (RuleConfig) and from the embedding
// host's NodeServer::Options::check_write hook. A broken rule is answered
// 422 Unprocessable Entity with an OperationOutcome of issue code
// "business-rule", which a child classifies as a dead letter (architecture §5).
//
// Thread safety: pure functions over the immutable ServerContext.

#ifndef FHIRSYNC_SERVER_BUSINESS_RULES_H_
#define FHIRSYNC_SERVER_BUSINESS_RULES_H_

#include <string>

#include <rapidjson/document.h>

#include "fhirsync/status.h"
#include "server/server_context.h"

namespace fhirsync::server {

// True when `path` ("name.family") holds a value in `resource`: members are
// followed through objects, lists are crossed (any element may hold it), and
// null, "", [] and {} do not count.
bool HasElement(const rapidjson::Value& resource, const std::string& path);

// Checks a create or update of type/id whose parsed body is `resource` (the
// text `body`) against server.rules in order, then the host's hook. OK when
// accepted; otherwise FailedPrecondition whose message starts with
// "business rule 'NAME'" and names the missing elements (or the hook's
// message), which BusinessRuleResponse() turns into the 422.
Status CheckBusinessRules(const ServerContext& context, const std::string& type,
                          const std::string& id, const rapidjson::Value& resource,
                          const std::string& body);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_BUSINESS_RULES_H_
