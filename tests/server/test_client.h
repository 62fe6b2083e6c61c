// A small HTTP client for the server tests, over Poco::Net::HTTPClientSession
// with keep-alive. Bodies of gzip responses are inflated (and the fact that
// they were gzip is recorded), so tests see the JSON/XML.

#ifndef FHIRSYNC_TESTS_SERVER_TEST_CLIENT_H_
#define FHIRSYNC_TESTS_SERVER_TEST_CLIENT_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <Poco/Net/HTTPClientSession.h>
#include <rapidjson/document.h>

namespace fhirsync::testing {

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // inflated
  bool was_gzip = false;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
  // The body as JSON (an empty object if it does not parse).
  rapidjson::Document Json() const;
  // issue[0].diagnostics and issue[0].code of an OperationOutcome body.
  std::string Diagnostics() const;
  std::string IssueCode() const;
};

struct RequestOptions {
  std::vector<std::pair<std::string, std::string>> headers;
  bool gzip_body = false;     // send the body gzip-compressed
  bool accept_gzip = false;   // send Accept-Encoding: gzip
  std::string raw_body;       // sent as is when set (overrides body, no compression)
  bool use_raw = false;
};

inline RequestOptions WithHeader(std::string name, std::string value) {
  RequestOptions options;
  options.headers.emplace_back(std::move(name), std::move(value));
  return options;
}

class TestClient {
 public:
  // `authorization` is the whole Authorization header value ("" for none).
  TestClient(std::string host, int port, std::string authorization);

  Reply Call(const std::string& method, const std::string& target, const std::string& body = "",
             const RequestOptions& options = {});
  Reply Get(const std::string& target) { return Call("GET", target); }
  Reply Put(const std::string& target, const std::string& body) {
    return Call("PUT", target, body);
  }
  Reply Post(const std::string& target, const std::string& body) {
    return Call("POST", target, body);
  }

 private:
  std::string host_;
  int port_;
  std::string authorization_;
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;
};

// Writes `request` (raw HTTP, possibly several pipelined requests, the last
// with Connection: close) to 127.0.0.1:`port` on a fresh connection and
// returns every byte the server sends until it closes the connection.
// Throws Poco exceptions (failing the test) on a socket error or after 30 s.
std::string RawExchange(int port, const std::string& request);

std::string BasicAuth(const std::string& user, const std::string& password);
std::string BearerAuth(const std::string& token);
std::string Gzip(const std::string& data);
std::string Gunzip(const std::string& data);

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SERVER_TEST_CLIENT_H_
