// FaultProxy: an HTTP proxy for tests, on 127.0.0.1 port 0, that sits
// between a child and its parent and forwards every request unchanged
// unless a rule says to misbehave: answer a status itself (each class of
// architecture §5), cut the connection mid-request (before forwarding: the parent
// never sees it) or mid-response (after forwarding: the parent applied it
// but the child gets half an answer), or stall. It records what it saw.
//
// Rules match on method and a path substring, in the order added, and apply
// `times` times (-1: always). A kAnswerEntry rule reaches into a FHIR batch
// Bundle: the entry whose request.url contains `path_part` is answered by the
// proxy (as a parent with a business rule would answer it) and the rest of
// the Bundle is forwarded, each answer kept in its place; it applies only
// when no other rule matched. Header-only; link Poco::Net (RapidJSON is
// header-only).
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
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <condition_variable>
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
  kAnswerEntry,   // answer one entry of a batch Bundle with `status` (see above)
};

struct FaultRule {
  std::string method;      // "" = any
  // "" = any; else a substring of the request URI (for kAnswerEntry: of the
  // entry's request.url, in a POSTed Bundle)
  std::string path_part;
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
  std::string if_none_match;
  std::string body;
  int status = 0;          // what the child got (0: nothing)
  std::string fault;       // "", "answer", "cut-request", "cut-response", "stall", "answer-entry"
};

class FaultProxy {
 public:
  FaultProxy(std::string upstream_host, int upstream_port)
      : FaultProxy(std::move(upstream_host), upstream_port,
                   Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0)), "http") {}
  // The same on a listening socket the test made: a Poco SecureServerSocket
  // makes the proxy an HTTPS front for a plain parent (scheme "https";
  // tls_test_ca.h).
  FaultProxy(std::string upstream_host, int upstream_port, Poco::Net::ServerSocket socket,
             std::string scheme)
      : upstream_host_(std::move(upstream_host)),
        upstream_port_(upstream_port),
        socket_(std::move(socket)),
        scheme_(std::move(scheme)) {
    auto* params = new Poco::Net::HTTPServerParams;
    params->setKeepAlive(true);
    params->setMaxThreads(8);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(this), socket_, params);
    server_->start();
  }
  // Stops listening, ends stalls and waits for the requests in flight:
  // HTTPServer::stopAll() does not join its handler threads, and a handler
  // still forwarding to a slow parent would otherwise record into a
  // destroyed proxy.
  ~FaultProxy() {
    release_.set();
    server_->stopAll(true);
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [this] { return in_flight_ == 0; });
  }

  int port() const { return socket_.address().port(); }
  std::string base_url(const std::string& path = "/fhir") const {
    return scheme_ + "://127.0.0.1:" + std::to_string(port()) + path;
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
      if (rule.times == 0 || rule.kind == FaultKind::kAnswerEntry) continue;
      if (!rule.method.empty() && rule.method != method) continue;
      if (!rule.path_part.empty() && uri.find(rule.path_part) == std::string::npos) continue;
      if (rule.times > 0) --rule.times;
      return rule;
    }
    return FaultRule{"", "", FaultKind::kForward, 0, -1, "", 0};
  }
  // The index of the batch entry a kAnswerEntry rule answers in `bundle`
  // (consuming one of its `times`) and that rule; -1 when none applies.
  int MatchEntry(const std::string& method, const rapidjson::Document& bundle,
                 FaultRule* matched) {
    if (!bundle.IsObject() || !bundle.HasMember("entry") || !bundle["entry"].IsArray()) return -1;
    const auto& entries = bundle["entry"];
    std::lock_guard<std::mutex> lock(mu_);
    for (FaultRule& rule : rules_) {
      if (rule.times == 0 || rule.kind != FaultKind::kAnswerEntry) continue;
      if (!rule.method.empty() && rule.method != method) continue;
      for (rapidjson::SizeType i = 0; i < entries.Size(); ++i) {
        const auto& entry = entries[i];
        if (!entry.IsObject() || !entry.HasMember("request") || !entry["request"].IsObject()) {
          continue;
        }
        const auto& request = entry["request"];
        if (!request.HasMember("url") || !request["url"].IsString()) continue;
        if (std::string(request["url"].GetString()).find(rule.path_part) == std::string::npos) {
          continue;
        }
        if (rule.times > 0) --rule.times;
        *matched = rule;
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  static std::string Json(const rapidjson::Value& value) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    value.Accept(writer);
    return std::string(buffer.GetString(), buffer.GetSize());
  }

  static std::string InjectedOutcome(int status) {
    return R"({"resourceType":"OperationOutcome","issue":[{"severity":"error",)"
           R"("code":"processing","diagnostics":"injected HTTP )" +
           std::to_string(status) + "\"}]}";
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

  // Counts a request in flight for as long as it lives (see ~FaultProxy).
  class InFlight {
   public:
    explicit InFlight(FaultProxy* proxy) : proxy_(proxy) {
      std::lock_guard<std::mutex> lock(proxy_->mu_);
      ++proxy_->in_flight_;
    }
    ~InFlight() {
      std::lock_guard<std::mutex> lock(proxy_->mu_);
      if (--proxy_->in_flight_ == 0) proxy_->idle_.notify_all();
    }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    FaultProxy* proxy_;
  };

  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(FaultProxy* proxy) : proxy_(proxy) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      InFlight in_flight(proxy_);
      ProxiedRequest seen;
      seen.method = request.getMethod();
      seen.uri = request.getURI();
      seen.if_match = request.get("If-Match", "");
      seen.if_none_match = request.get("If-None-Match", "");
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
        std::string body = rule.body.empty() ? InjectedOutcome(rule.status) : rule.body;
        response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(rule.status));
        response.setContentType("application/fhir+json");
        response.setContentLength(static_cast<std::streamsize>(body.size()));
        response.send() << body;
        return;
      }
      // One entry of a batch Bundle answered here, the others forwarded.
      FaultRule entry_rule;
      int entry_at = -1;
      rapidjson::Document bundle;
      if (rule.kind == FaultKind::kForward && seen.method == "POST") {
        bundle.Parse(seen.body.c_str(), seen.body.size());
        if (!bundle.HasParseError()) {
          entry_at = proxy_->MatchEntry(seen.method, bundle, &entry_rule);
        }
      }
      std::string forwarded_body = seen.body;
      if (entry_at >= 0) {
        bundle["entry"].Erase(bundle["entry"].Begin() + entry_at);
        forwarded_body = Json(bundle);
      }
      Upstream upstream = proxy_->Forward(request, forwarded_body);
      if (entry_at >= 0) {
        rapidjson::Document answer;
        answer.Parse(upstream.body.c_str(), upstream.body.size());
        if (!answer.HasParseError() && answer.IsObject() && answer.HasMember("entry") &&
            answer["entry"].IsArray()) {
          auto& alloc = answer.GetAllocator();
          rapidjson::Document outcome(&alloc);
          outcome.Parse(entry_rule.body.empty() ? InjectedOutcome(entry_rule.status).c_str()
                                                : entry_rule.body.c_str());
          rapidjson::Value response(rapidjson::kObjectType);
          const std::string status_line = std::to_string(entry_rule.status) + " Injected";
          response.AddMember("status", rapidjson::Value(status_line.c_str(), alloc), alloc);
          response.AddMember("outcome", rapidjson::Value(outcome, alloc), alloc);
          rapidjson::Value injected(rapidjson::kObjectType);
          injected.AddMember("response", response, alloc);
          auto& entries = answer["entry"];
          entries.PushBack(rapidjson::Value(rapidjson::kObjectType), alloc);
          const auto at = static_cast<rapidjson::SizeType>(entry_at);
          for (rapidjson::SizeType i = entries.Size() - 1; i > at; --i) entries[i] = entries[i - 1];
          entries[at] = injected;
          upstream.body = Json(answer);
        }
        seen.fault = "answer-entry";
      }
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
  std::string scheme_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  Poco::Event release_{/*autoReset=*/false};
  mutable std::mutex mu_;
  std::condition_variable idle_;
  int in_flight_ = 0;  // guarded by mu_
  std::vector<FaultRule> rules_;
  std::vector<ProxiedRequest> requests_;
};

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SUPPORT_FAULT_PROXY_H_
