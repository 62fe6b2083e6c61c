// FaultProxy: an HTTP proxy for tests, on 127.0.0.1 port 0, that sits
// between a child and its parent and forwards every request unchanged
// unless a rule says to misbehave: answer a status itself (each class of
// DESIGN §5), cut the connection mid-request (before forwarding: the parent
// never sees it) or mid-response (after forwarding: the parent applied it
// but the child gets half an answer), or stall. It records what it saw.
//
// Rules match on method and a path substring, in the order added, and apply
// `times` times (-1: always). Header-only; link Poco::Net.
//
//   FaultProxy proxy("127.0.0.1", parent_port);
//   proxy.Add({"PUT", "/Patient/", FaultKind::kAnswer, 503, 1});
//   ... child config parent.url = proxy.base_url("/fhir") ...
//
// Thread safety: every method may be called while requests flow.

#ifndef FHIRSYNC_TESTS_SUPPORT_FAULT_PROXY_H_
#define FHIRSYNC_TESTS_SUPPORT_FAULT_PROXY_H_

#include <Poco/Event.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/StreamCopier.h>

#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace fhirsync::testing {

enum class FaultKind {
  kForward,       // pass through (a rule that only counts)
  kAnswer,        // answer `status` with `body` without forwarding
  kCutRequest,    // close the connection before forwarding anything
  kCutResponse,   // forward, then send half of the answer and close
  kStall,         // wait `stall_ms` (or until the proxy stops), then close unanswered
};

struct FaultRule {
  std::string method;      // "" = any
  std::string path_part;   // "" = any; else a substring of the request URI
  FaultKind kind = FaultKind::kForward;
  int status = 503;
  int times = 1;           // -1: every matching request
  std::string body;        // for kAnswer; default an OperationOutcome naming the status
  long stall_ms = 0;
};

struct ProxiedRequest {
  std::string method;
  std::string uri;
  std::string if_match;
  std::string body;
  int status = 0;          // what the child got (0: nothing)
  std::string fault;       // "", "answer", "cut-request", "cut-response", "stall"
};

class FaultProxy {
 public:
  FaultProxy(std::string upstream_host, int upstream_port)
      : upstream_host_(std::move(upstream_host)),
        upstream_port_(upstream_port),
        socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    auto* params = new Poco::Net::HTTPServerParams;
    params->setKeepAlive(true);
    params->setMaxThreads(8);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(this), socket_, params);
    server_->start();
  }
  ~FaultProxy() {
    release_.set();
    server_->stopAll(true);
  }

  int port() const { return socket_.address().port(); }
  std::string base_url(const std::string& path = "/fhir") const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }

  void Add(FaultRule rule) {
    std::lock_guard<std::mutex> lock(mu_);
    rules_.push_back(std::move(rule));
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    rules_.clear();
  }
  std::vector<ProxiedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  // The rule for this request (consuming one of its `times`), or a forward.
  FaultRule Match(const std::string& method, const std::string& uri) {
    std::lock_guard<std::mutex> lock(mu_);
    for (FaultRule& rule : rules_) {
      if (rule.times == 0) continue;
      if (!rule.method.empty() && rule.method != method) continue;
      if (!rule.path_part.empty() && uri.find(rule.path_part) == std::string::npos) continue;
      if (rule.times > 0) --rule.times;
      return rule;
    }
    return FaultRule{"", "", FaultKind::kForward, 0, -1, "", 0};
  }
  void Record(ProxiedRequest request) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(std::move(request));
  }

  // Forwards the request; returns the upstream status, headers and body.
  struct Upstream {
    int status = 502;
    std::string reason = "Bad Gateway";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  Upstream Forward(Poco::Net::HTTPServerRequest& request, const std::string& body) {
    Upstream out;
    try {
      Poco::Net::HTTPClientSession session(upstream_host_, static_cast<Poco::UInt16>(upstream_port_));
      session.setTimeout(Poco::Timespan(30, 0));
      Poco::Net::HTTPRequest forwarded(request.getMethod(), request.getURI(),
                                       Poco::Net::HTTPMessage::HTTP_1_1);
      for (const auto& [name, value] : request) {
        if (name == "Host" || name == "Connection" || name == "Content-Length" ||
            name == "Transfer-Encoding" || name == "Accept-Encoding") {
          continue;
        }
        forwarded.set(name, value);
      }
      forwarded.setContentLength(static_cast<std::streamsize>(body.size()));
      session.sendRequest(forwarded) << body;
      Poco::Net::HTTPResponse response;
      std::istream& in = session.receiveResponse(response);
      Poco::StreamCopier::copyToString(in, out.body);
      out.status = response.getStatus();
      out.reason = response.getReason();
      for (const auto& [name, value] : response) {
        if (name == "Content-Length" || name == "Transfer-Encoding" || name == "Connection" ||
            name == "Content-Encoding") {
          continue;
        }
        out.headers.emplace_back(name, value);
      }
    } catch (const Poco::Exception& error) {
      out.body = R"({"resourceType":"OperationOutcome","issue":[{"severity":"error",)"
                 R"("code":"transient","diagnostics":"proxy: )" + error.displayText() + "\"}]}";
    }
    return out;
  }

  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(FaultProxy* proxy) : proxy_(proxy) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      ProxiedRequest seen;
      seen.method = request.getMethod();
      seen.uri = request.getURI();
      seen.if_match = request.get("If-Match", "");
      FaultRule rule = proxy_->Match(seen.method, seen.uri);
      if (rule.kind == FaultKind::kCutRequest) {
        // Nothing is read or forwarded: the parent never sees it.
        seen.fault = "cut-request";
        proxy_->Record(seen);
        response.setKeepAlive(false);
        return;
      }
      Poco::StreamCopier::copyToString(request.stream(), seen.body);
      if (rule.kind == FaultKind::kStall) {
        seen.fault = "stall";
        proxy_->Record(seen);
        proxy_->release_.tryWait(rule.stall_ms);
        response.setKeepAlive(false);
        return;
      }
      if (rule.kind == FaultKind::kAnswer) {
        seen.fault = "answer";
        seen.status = rule.status;
        proxy_->Record(seen);
        std::string body = rule.body.empty()
                               ? R"({"resourceType":"OperationOutcome","issue":[{"severity":"error",)"
                                 R"("code":"processing","diagnostics":"injected HTTP )" +
                                     std::to_string(rule.status) + "\"}]}"
                               : rule.body;
        response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(rule.status));
        response.setContentType("application/fhir+json");
        response.setContentLength(static_cast<std::streamsize>(body.size()));
        response.send() << body;
        return;
      }
      Upstream upstream = proxy_->Forward(request, seen.body);
      seen.status = upstream.status;
      response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(upstream.status),
                                  upstream.reason);
      for (const auto& [name, value] : upstream.headers) response.set(name, value);
      response.setContentLength(static_cast<std::streamsize>(upstream.body.size()));
      if (rule.kind == FaultKind::kCutResponse) {
        seen.fault = "cut-response";
        seen.status = 0;
        proxy_->Record(seen);
        response.setKeepAlive(false);
        std::ostream& out = response.send();
        out.write(upstream.body.data(), static_cast<std::streamsize>(upstream.body.size() / 2));
        out.flush();
        return;
      }
      proxy_->Record(seen);
      response.send().write(upstream.body.data(), static_cast<std::streamsize>(upstream.body.size()));
    }

   private:
    FaultProxy* proxy_;
  };

  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(FaultProxy* proxy) : proxy_(proxy) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(proxy_);
    }

   private:
    FaultProxy* proxy_;
  };

  std::string upstream_host_;
  int upstream_port_;
  Poco::Net::ServerSocket socket_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  Poco::Event release_{/*autoReset=*/false};
  mutable std::mutex mu_;
  std::vector<FaultRule> rules_;
  std::vector<ProxiedRequest> requests_;
};

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SUPPORT_FAULT_PROXY_H_
