// The OpenMRS REST JSON format as the client needs it (internal to
// fhirsync::rest_client): setting a body's uuid, reading OpenMRS error
// bodies and auditInfo dates.
//
// Thread safety: pure functions.

#ifndef FHIRSYNC_REST_REST_WIRE_H_
#define FHIRSYNC_REST_REST_WIRE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "fhirsync/status.h"

namespace fhirsync::rest {

// `body` (a JSON object) with "uuid" set to `uuid`. InvalidArgument when the
// body is not JSON, not an object, or names another uuid.
StatusOr<std::string> BodyWithUuid(std::string_view body, std::string_view uuid);

// Checks that `body` is a JSON object; InvalidArgument naming the problem.
Status CheckJsonObject(std::string_view body);

// OpenMRS's explanation in an error body
// ({"error":{"message":...,"globalErrors":[...],"fieldErrors":{...}}}):
// the message, then each global and field error ("name: Required"), joined
// with "; ", at most 2000 characters. Empty when the body is not such an
// error.
std::string ErrorMessage(std::string_view body);

// An OpenMRS date ("2018-08-26T12:50:35.000+0000") in epoch milliseconds.
// InvalidArgument naming the text when it does not parse.
StatusOr<std::int64_t> ParseOpenmrsDate(std::string_view text);

// auditInfo.dateChanged, else auditInfo.dateCreated, in epoch milliseconds;
// 0 when the body has neither (or they do not parse).
std::int64_t AuditLastUpdatedMs(std::string_view body);

}  // namespace fhirsync::rest

#endif  // FHIRSYNC_REST_REST_WIRE_H_
