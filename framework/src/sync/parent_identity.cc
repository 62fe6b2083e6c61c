#include "fhirsync/parent_identity.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPBasicCredentials.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>

#include "fhirsync/base/text_util.h"
#include "fhirsync/http_status.h"
#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/resource.h"
#include "fhirsync/net/io_watchdog.h"

namespace fhirsync {

namespace {

StatusOr<std::string> AskNodeId(Poco::Net::HTTPClientSession& session, const std::string& path,
                                const ParentEndpoint& parent, const std::string& label) {
  try {
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Accept", "application/fhir+json");
    if (!parent.user.empty()) {
      Poco::Net::HTTPBasicCredentials(parent.user, parent.password).authenticate(request);
    }
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& body = session.receiveResponse(response);
    // Only the header matters; the body is read (to its end, within the
    // cap) and dropped.
    char buffer[16 * 1024];
    std::size_t total = 0;
    while (body.read(buffer, sizeof(buffer)) || body.gcount() > 0) {
      total += static_cast<std::size_t>(body.gcount());
      if (total > parent.max_answer_bytes) {
        return ResourceExhaustedError(label + ": the answer is larger than the limit of " +
                                      std::to_string(parent.max_answer_bytes) + " bytes (" +
                                      kMaxAnswerBytesOption + ")");
      }
    }
    const int status = static_cast<int>(response.getStatus());
    if (status < 200 || status > 299) {
      return Status(StatusCodeForHttpStatus(status),
                    label + ": HTTP " + std::to_string(status) + " " + response.getReason());
    }
    const std::string node_id = response.get("X-Fhirsync-Node-Id", "");
    if (node_id.empty()) {
      return FailedPreconditionError(label + ": it answered without an X-Fhirsync-Node-Id "
                                             "header, so it is not a fhirsync node; set "
                                             "parent.node_id in fhirsync.json by hand");
    }
    if (Status valid = ValidateId(node_id); !valid.ok()) {
      return FailedPreconditionError(label + ": it names itself '" +
                                     EscapeForMessage(node_id, 80) + "': " + valid.message());
    }
    return node_id;
  } catch (const Poco::TimeoutException& error) {
    return DeadlineExceededError(label + ": " + error.displayText());
  } catch (const Poco::Exception& error) {
    return UnavailableError(label + ": " + error.displayText());
  }
}

}  // namespace

StatusOr<std::string> FetchParentNodeId(const ParentEndpoint& parent) {
  const std::string label = "asking the parent at " + EscapeForMessage(parent.url, 200) +
                            " for its node id";
  Poco::URI uri;
  try {
    uri = Poco::URI(parent.url);
  } catch (const Poco::Exception& error) {
    return InvalidArgumentError(label + ": the URL does not parse: " + error.displayText());
  }
  if (uri.getScheme() != "http" || uri.getHost().empty()) {
    return InvalidArgumentError(label + ": expected an http://host[:port] URL");
  }
  std::string path = uri.getPath();
  while (!path.empty() && path.back() == '/') path.pop_back();
  path += "/fhir/metadata";
  Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
  session.setTimeout(
      Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(parent.timeout_ms) * 1000));
  StatusOr<std::string> node_id = InternalError("not asked");
  net::IoStop stopped = net::IoStop::kNone;
  {
    net::IoWatch watch(session.socket(), parent.deadline_ms);
    node_id = AskNodeId(session, path, parent, label);
    stopped = watch.stopped();
  }
  if (stopped != net::IoStop::kNone) return net::IoStopError(stopped, label, parent.deadline_ms);
  return node_id;
}

ParentEndpoint ParentEndpointFor(const NodeConfig& config, const TransportSettings& settings) {
  ParentEndpoint endpoint;
  endpoint.url = config.parent.url;
  endpoint.user = settings.user;
  endpoint.password = settings.password;
  endpoint.deadline_ms = config.parent.request_deadline_seconds * 1000;
  endpoint.max_answer_bytes = config.parent.max_answer_bytes;
  return endpoint;
}

}  // namespace fhirsync
