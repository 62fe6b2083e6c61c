// ScriptedPeer: a real Poco HTTP server on 127.0.0.1, port 0, that answers
// each request with the next scripted reply (status, headers, body, gzip),
// or misbehaves on purpose (drops the connection without an answer, cuts the
// body short, stalls, drips the body a byte at a time), and records every
// request it got. It injects faults
// to test a client's mapping of each outcome; it is not a FHIR server.
// Header-only; a test target adds ${PROJECT_SOURCE_DIR}/tests to its include
// path and links Poco::Net.

#ifndef FHIRSYNC_TESTS_SUPPORT_SCRIPTED_HTTP_PEER_H_
#define FHIRSYNC_TESTS_SUPPORT_SCRIPTED_HTTP_PEER_H_

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <Poco/DeflatingStream.h>
#include <Poco/Event.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/StreamCopier.h>

namespace fhirsync::testing {

struct Reply {
  Reply() = default;
  Reply(int status_in, std::string body_in,
        std::vector<std::pair<std::string, std::string>> headers_in = {})
      : status(status_in), body(std::move(body_in)), headers(std::move(headers_in)) {}

  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool gzip = false;            // compress when the request accepts gzip
  bool chunked = false;         // Transfer-Encoding: chunked instead of Content-Length
  bool drop = false;            // close the connection without any answer
  long cut_after = -1;          // send only this many body bytes, then close
  long stall_ms = 0;            // wait this long (or until teardown) before answering
  long drip_ms = 0;             // send the body one byte per drip_ms (until teardown)
};

struct RecordedRequest {
  std::string method;
  std::string uri;
  std::map<std::string, std::string> headers;
  std::string body;
  std::string client;  // "127.0.0.1:54321": the same for requests on one connection
};

class ScriptedPeer {
 public:
  ScriptedPeer() : socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    auto* params = new Poco::Net::HTTPServerParams;
    params->setKeepAlive(true);
    params->setMaxThreads(4);
    params->setKeepAliveTimeout(Poco::Timespan(10, 0));
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(this), socket_, params);
    server_->start();
  }

  ~ScriptedPeer() {
    release_.set();  // end any stall at once
    server_->stopAll(true);
  }

  std::string base_url(const std::string& path = "/fhir") const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }
  int port() const { return socket_.address().port(); }

  void Push(Reply reply) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(reply));
  }
  // Answers by looking at the request (used instead of the script when set).
  void Route(std::function<Reply(const RecordedRequest&)> route) {
    std::lock_guard<std::mutex> lock(mu_);
    route_ = std::move(route);
  }
  std::vector<RecordedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  Reply Next(const RecordedRequest& request) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    if (route_) return route_(request);
    if (script_.empty()) return Reply{500, "{\"error\":\"no scripted reply\"}"};
    Reply reply = std::move(script_.front());
    script_.pop_front();
    return reply;
  }

  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(ScriptedPeer* peer) : peer_(peer) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      RecordedRequest recorded;
      recorded.method = request.getMethod();
      recorded.uri = request.getURI();
      for (const auto& [name, value] : request) recorded.headers[name] = value;
      Poco::StreamCopier::copyToString(request.stream(), recorded.body);
      recorded.client = request.clientAddress().toString();
      Reply reply = peer_->Next(recorded);
      if (reply.stall_ms > 0) peer_->release_.tryWait(reply.stall_ms);
      if (reply.drop) {
        response.setKeepAlive(false);  // the connection closes, nothing was sent
        return;
      }
      std::string body = reply.body;
      bool accepts_gzip = request.get("Accept-Encoding", "").find("gzip") != std::string::npos;
      if (reply.gzip && accepts_gzip) {
        std::ostringstream compressed;
        Poco::DeflatingOutputStream deflate(compressed, Poco::DeflatingStreamBuf::STREAM_GZIP);
        deflate << body;
        deflate.close();
        body = compressed.str();
        response.set("Content-Encoding", "gzip");
      }
      response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
      for (const auto& [name, value] : reply.headers) response.set(name, value);
      if (!body.empty()) response.setContentType("application/fhir+json");
      if (reply.chunked) {
        response.setChunkedTransferEncoding(true);
      } else {
        response.setContentLength(static_cast<std::streamsize>(body.size()));
      }
      if (reply.cut_after >= 0) {
        response.setKeepAlive(false);
        std::ostream& out = response.send();
        out.write(body.data(), reply.cut_after);
        out.flush();
        return;
      }
      if (reply.drip_ms > 0) {
        std::ostream& out = response.send();
        for (char c : body) {
          out.put(c);
          out.flush();
          if (!out || peer_->release_.tryWait(reply.drip_ms)) return;  // gone, or teardown
        }
        return;
      }
      response.send().write(body.data(), static_cast<std::streamsize>(body.size()));
    }

   private:
    ScriptedPeer* peer_;
  };

  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(ScriptedPeer* peer) : peer_(peer) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(peer_);
    }

   private:
    ScriptedPeer* peer_;
  };

  Poco::Net::ServerSocket socket_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  Poco::Event release_{/*autoReset=*/false};
  mutable std::mutex mu_;
  std::deque<Reply> script_;
  std::function<Reply(const RecordedRequest&)> route_;
  std::vector<RecordedRequest> requests_;
};

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SUPPORT_SCRIPTED_HTTP_PEER_H_
