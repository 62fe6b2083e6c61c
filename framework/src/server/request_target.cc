#include "server/request_target.h"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include "fhirsync/base/text_util.h"
#include "server/search_params.h"

namespace fhirsync::server {

namespace {
constexpr std::size_t kMaxTargetBytes = 8192;
}  // namespace

Status ParseRequestTarget(std::string_view target, HttpRequest* request) {
  if (target.size() > kMaxTargetBytes) {
    return InvalidArgumentError("request URL is " + std::to_string(target.size()) +
                                " bytes, over the limit of " + std::to_string(kMaxTargetBytes));
  }
  std::size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  std::size_t hash = query.find('#');
  if (hash != std::string_view::npos) query = query.substr(0, hash);
  request->segments.clear();
  try {
    for (const std::string& raw : SplitList(path, '/')) {
      std::string decoded;
      Poco::URI::decode(raw, decoded);
      // "." and ".." would name one route in several ways (and mean
      // something else to a proxy in front); no route has such a segment.
      if (decoded == "." || decoded == "..") {
        return InvalidArgumentError("request URL '" + EscapeForMessage(target) +
                                    "' has a dot segment ('" + decoded + "'); none is allowed");
      }
      request->segments.push_back(std::move(decoded));
    }
  } catch (const Poco::Exception& e) {
    return InvalidArgumentError("request URL '" + EscapeForMessage(target) +
                                "' is malformed: " + EscapeForMessage(e.displayText()));
  }
  FHIRSYNC_ASSIGN_OR_RETURN(request->query, ParseQueryString(std::string(query)));
  return Status::Ok();
}

}  // namespace fhirsync::server
