// The access log of `serve` (internal): one line per request, as text for
// people or JSON for log collectors.
//
// The path is logged without its query: search parameters carry patient
// names and identifiers, which do not belong in a log file.
//
// Thread safety: FormatAccessLine is a pure function.

#ifndef FHIRSYNC_SERVER_ACCESS_LOG_H_
#define FHIRSYNC_SERVER_ACCESS_LOG_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "fhirsync/node_server.h"

namespace fhirsync::server {

struct AccessRecord {
  std::chrono::system_clock::time_point time;  // when the request arrived
  std::string client;                          // the peer's address
  std::string user;                            // who it claimed to be; "-" for nobody
  std::string method;
  std::string target;  // the request target as sent; the query is dropped
  int status = 0;
  std::uint64_t bytes = 0;  // body bytes sent
  double duration_ms = 0;
};

// One line without its newline. Text: "TIME CLIENT USER METHOD PATH STATUS
// BYTES DURATIONms" (fields escaped, so a line never splits); JSON: one
// object with those keys.
std::string FormatAccessLine(const AccessRecord& record, AccessLogFormat format);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_ACCESS_LOG_H_
