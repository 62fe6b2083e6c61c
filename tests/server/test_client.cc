#include "test_client.h"

#include <Poco/Base64Encoder.h>
#include <Poco/DeflatingStream.h>
#include <Poco/InflatingStream.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

#include <cctype>
#include <sstream>

namespace fhirsync::testing {

rapidjson::Document Reply::Json() const {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(body.data(), body.size());
  if (doc.HasParseError()) doc.SetObject();
  return doc;
}

namespace {
std::string IssueField(const Reply& reply, const char* field) {
  rapidjson::Document doc = reply.Json();
  if (!doc.IsObject() || !doc.HasMember("issue") || !doc["issue"].IsArray() ||
      doc["issue"].Empty() || !doc["issue"][0].HasMember(field)) {
    return "";
  }
  return doc["issue"][0][field].GetString();
}
}  // namespace

std::string Reply::Diagnostics() const { return IssueField(*this, "diagnostics"); }
std::string Reply::IssueCode() const { return IssueField(*this, "code"); }

TestClient::TestClient(std::string host, int port, std::string authorization)
    : host_(std::move(host)), port_(port), authorization_(std::move(authorization)) {}

Reply TestClient::Call(const std::string& method, const std::string& target,
                       const std::string& body, const RequestOptions& options) {
  // The server closes a connection after refusing a request whose body it did
  // not read; start afresh then, as any keep-alive client does.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!session_) {
      session_ = std::make_unique<Poco::Net::HTTPClientSession>(host_, port_);
      session_->setKeepAlive(true);
      session_->setTimeout(Poco::Timespan(30, 0));
    }
    try {
      Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
      request.setKeepAlive(true);
      if (!authorization_.empty()) request.set("Authorization", authorization_);
      if (options.accept_gzip) request.set("Accept-Encoding", "gzip");
      for (const auto& [name, value] : options.headers) request.set(name, value);
      std::string payload = options.use_raw ? options.raw_body : body;
      if (!options.use_raw && options.gzip_body) {
        payload = Gzip(body);
        request.set("Content-Encoding", "gzip");
      }
      if (method == "POST" || method == "PUT") {
        request.setContentType("application/fhir+json");
        request.setContentLength64(static_cast<Poco::Int64>(payload.size()));
      }
      std::ostream& out = session_->sendRequest(request);
      out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
      Poco::Net::HTTPResponse response;
      std::istream& in = session_->receiveResponse(response);
      Reply reply;
      reply.status = response.getStatus();
      for (const auto& [name, value] : response) {
        std::string lower = name;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        reply.headers[lower] = value;
      }
      std::string raw;
      Poco::StreamCopier::copyToString(in, raw);
      reply.was_gzip = reply.Header("content-encoding") == "gzip";
      reply.body = reply.was_gzip ? Gunzip(raw) : raw;
      if (!response.getKeepAlive()) session_.reset();
      return reply;
    } catch (const Poco::Exception&) {
      session_.reset();
      if (attempt == 1) throw;
    }
  }
  return Reply{};
}

std::string RawExchange(int port, const std::string& request) {
  Poco::Net::StreamSocket socket(
      Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
  socket.setReceiveTimeout(Poco::Timespan(30, 0));
  socket.sendBytes(request.data(), static_cast<int>(request.size()));
  std::string received;
  char buffer[4096];
  for (int n; (n = socket.receiveBytes(buffer, sizeof buffer)) > 0;) received.append(buffer, n);
  return received;
}

std::string BasicAuth(const std::string& user, const std::string& password) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);
  encoder << user << ":" << password;
  encoder.close();
  return "Basic " + out.str();
}

std::string BearerAuth(const std::string& token) { return "Bearer " + token; }

std::string Gzip(const std::string& data) {
  std::ostringstream out;
  Poco::DeflatingOutputStream deflate(out, Poco::DeflatingStreamBuf::STREAM_GZIP);
  deflate << data;
  deflate.close();
  return out.str();
}

std::string Gunzip(const std::string& data) {
  std::istringstream in(data);
  Poco::InflatingInputStream inflate(in, Poco::InflatingStreamBuf::STREAM_GZIP);
  std::string out;
  Poco::StreamCopier::copyToString(inflate, out);
  return out;
}

}  // namespace fhirsync::testing
