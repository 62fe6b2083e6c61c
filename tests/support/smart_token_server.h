// SmartTokenServer: a real SMART Backend Services authorisation server and
// a resource behind it, on 127.0.0.1 with a port the OS picks (Poco
// HTTPServer), for testing a client's tokens:
//   GET  /.well-known/smart-configuration  names /token as token_endpoint
//   POST /token   checks the client assertion as a server must (the JWT's
//                 signature against the registered public key, alg, iss ==
//                 sub == client id, aud == the token URL, exp in the future
//                 and at most 5 minutes ahead, a jti never seen before) and
//                 answers a fresh token living `token_lifetime_seconds`, or
//                 400 invalid_client naming what was wrong
//   any other    200 {"ok":true} with a live token issued here, else 401
// It also makes throwaway keys (WriteKey). Header-only; link OpenSSL::Crypto,
// Poco::Net and RapidJSON's include path.
//
// Thread safety: the counters and knobs are guarded; set the knobs before
// the client runs.

#ifndef FHIRSYNC_TESTS_SUPPORT_SMART_TOKEN_SERVER_H_
#define FHIRSYNC_TESTS_SUPPORT_SMART_TOKEN_SERVER_H_

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <rapidjson/document.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <Poco/Net/HTMLForm.h>
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

// Writes a new private key to `file` (PEM, PKCS#8): "rsa" (2048 bits),
// "p384" or "p256". Returns the public key as PEM ("" on failure).
inline std::string WriteKey(const std::string& file, const std::string& kind) {
  EVP_PKEY* key = kind == "rsa"    ? EVP_RSA_gen(2048)
                  : kind == "p384" ? EVP_EC_gen("P-384")
                                   : EVP_EC_gen("P-256");
  if (key == nullptr) return "";
  std::string public_pem;
  if (FILE* out = std::fopen(file.c_str(), "w")) {
    PEM_write_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(out);
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key);
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    public_pem.assign(data, static_cast<std::size_t>(length));
    BIO_free(bio);
  }
  EVP_PKEY_free(key);
  return public_pem;
}

class SmartTokenServer {
 public:
  SmartTokenServer(std::string client_id, const std::string& public_key_pem)
      : client_id_(std::move(client_id)) {
    BIO* bio = BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size()));
    public_key_ = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    port_ = socket.address().port();
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(4);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(this), socket, params);
    server_->start();
  }
  ~SmartTokenServer() {
    server_->stopAll(true);
    EVP_PKEY_free(public_key_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string token_url() const { return url() + "/token"; }

  // Knobs.
  void set_token_lifetime_seconds(int seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    lifetime_s_ = seconds;
  }
  // Forgets every token issued so far (as a server that revokes them).
  void RevokeAll() {
    std::lock_guard<std::mutex> lock(mu_);
    live_.clear();
  }
  // Answers every resource request 401, whatever its token.
  void set_refuse_all(bool refuse) {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_all_ = refuse;
  }

  // What happened.
  int tokens_issued() const {
    std::lock_guard<std::mutex> lock(mu_);
    return issued_;
  }
  int unauthorized() const {
    std::lock_guard<std::mutex> lock(mu_);
    return unauthorized_;
  }
  int resource_requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return resource_requests_;
  }
  std::vector<std::string> refusals() const {
    std::lock_guard<std::mutex> lock(mu_);
    return refusals_;
  }
  std::string last_algorithm() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_alg_;
  }
  std::string last_scope() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_scope_;
  }

 private:
  using Clock = std::chrono::steady_clock;

  static std::string Base64UrlDecode(const std::string& in, bool* ok) {
    std::string b64 = in;
    for (char& c : b64) {
      if (c == '-') c = '+';
      if (c == '_') c = '/';
    }
    while (b64.size() % 4 != 0) b64 += '=';
    std::string out(b64.size() / 4 * 3 + 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(b64.data()),
                                  static_cast<int>(b64.size()));
    *ok = n >= 0;
    if (n < 0) return "";
    std::size_t length = static_cast<std::size_t>(n);
    std::size_t pad = 0;
    for (std::size_t i = b64.size(); i > 0 && b64[i - 1] == '='; --i) ++pad;
    out.resize(length - pad);
    return out;
  }

  bool Verify(const std::string& input, const std::string& signature, const std::string& alg) {
    std::string der = signature;
    if (alg == "ES384") {
      if (signature.size() != 96) return false;
      ECDSA_SIG* sig = ECDSA_SIG_new();
      ECDSA_SIG_set0(sig,
                     BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 48,
                               nullptr),
                     BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 48, 48,
                               nullptr));
      unsigned char* out = nullptr;
      const int length = i2d_ECDSA_SIG(sig, &out);
      der.assign(reinterpret_cast<const char*>(out), static_cast<std::size_t>(length));
      OPENSSL_free(out);
      ECDSA_SIG_free(sig);
    }
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    const bool ok =
        EVP_DigestVerifyInit(context, nullptr, EVP_sha384(), nullptr, public_key_) == 1 &&
        EVP_DigestVerify(context, reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                         reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    EVP_MD_CTX_free(context);
    return ok;
  }

  // Why the assertion is refused; "" when it is good.
  std::string CheckAssertion(const Poco::Net::HTMLForm& form) {
    if (form.get("grant_type", "") != "client_credentials") return "grant_type";
    if (form.get("client_assertion_type", "") !=
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
      return "client_assertion_type";
    }
    const std::string jwt = form.get("client_assertion", "");
    const std::size_t dot1 = jwt.find('.');
    const std::size_t dot2 = jwt.find('.', dot1 == std::string::npos ? 0 : dot1 + 1);
    if (dot1 == std::string::npos || dot2 == std::string::npos) return "not a JWT";
    bool ok1 = false, ok2 = false, ok3 = false;
    const std::string header = Base64UrlDecode(jwt.substr(0, dot1), &ok1);
    const std::string claims = Base64UrlDecode(jwt.substr(dot1 + 1, dot2 - dot1 - 1), &ok2);
    const std::string signature = Base64UrlDecode(jwt.substr(dot2 + 1), &ok3);
    if (!ok1 || !ok2 || !ok3) return "base64url";
    rapidjson::Document h, c;
    h.Parse(header.c_str());
    c.Parse(claims.c_str());
    if (h.HasParseError() || c.HasParseError() || !h.IsObject() || !c.IsObject()) return "json";
    if (!h.HasMember("alg") || !h["alg"].IsString() || !h.HasMember("kid")) return "header";
    const std::string alg = h["alg"].GetString();
    if (alg != "RS384" && alg != "ES384") return "alg " + alg;
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_alg_ = alg;
      last_scope_ = form.get("scope", "");
    }
    if (!Verify(jwt.substr(0, dot2), signature, alg)) return "signature";
    auto str = [&c](const char* name) {
      return c.HasMember(name) && c[name].IsString() ? std::string(c[name].GetString()) : "";
    };
    if (str("iss") != client_id_ || str("sub") != client_id_) return "iss/sub";
    if (str("aud") != token_url()) return "aud " + str("aud");
    if (!c.HasMember("exp") || !c["exp"].IsInt64()) return "exp";
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    const std::int64_t exp = c["exp"].GetInt64();
    if (exp < now || exp > now + 300) return "exp range";
    const std::string jti = str("jti");
    std::lock_guard<std::mutex> lock(mu_);
    if (jti.empty() || !jtis_.insert(jti).second) return "jti reused";
    return "";
  }

  void Handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
    const std::string uri = request.getURI();
    std::string body;
    Poco::StreamCopier::copyToString(request.stream(), body);
    auto answer = [&response](int status, const std::string& text) {
      response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
      response.setContentType("application/json");
      response.setContentLength(static_cast<std::streamsize>(text.size()));
      response.send() << text;
    };
    if (uri == "/.well-known/smart-configuration") {
      answer(200, "{\"token_endpoint\":\"" + token_url() +
                      "\",\"grant_types_supported\":[\"client_credentials\"]}");
      return;
    }
    if (uri == "/token" && request.getMethod() == "POST") {
      std::istringstream in(body);
      Poco::Net::HTMLForm form;
      form.read(in);
      const std::string why = CheckAssertion(form);
      std::lock_guard<std::mutex> lock(mu_);
      if (!why.empty()) {
        refusals_.push_back(why);
        answer(400, "{\"error\":\"invalid_client\",\"error_description\":\"" + why + "\"}");
        return;
      }
      const std::string token = "token-" + std::to_string(++issued_);
      live_[token] = Clock::now() + std::chrono::seconds(lifetime_s_);
      answer(200, "{\"access_token\":\"" + token +
                      "\",\"token_type\":\"bearer\",\"expires_in\":" +
                      std::to_string(lifetime_s_) + ",\"scope\":\"system/*.*\"}");
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    ++resource_requests_;
    const std::string auth = request.get("Authorization", "");
    const std::string token = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
    auto it = live_.find(token);
    if (refuse_all_ || it == live_.end() || it->second < Clock::now()) {
      ++unauthorized_;
      answer(401, "{\"error\":\"invalid_token\"}");
      return;
    }
    answer(200, "{\"ok\":true}");
  }

  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(SmartTokenServer* owner) : owner_(owner) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      owner_->Handle(request, response);
    }

   private:
    SmartTokenServer* owner_;
  };
  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(SmartTokenServer* owner) : owner_(owner) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(owner_);
    }

   private:
    SmartTokenServer* owner_;
  };

  const std::string client_id_;
  EVP_PKEY* public_key_ = nullptr;
  int port_ = 0;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  mutable std::mutex mu_;
  int lifetime_s_ = 300;
  bool refuse_all_ = false;
  int issued_ = 0;
  int unauthorized_ = 0;
  int resource_requests_ = 0;
  std::set<std::string> jtis_;
  std::map<std::string, Clock::time_point> live_;
  std::vector<std::string> refusals_;
  std::string last_alg_;
  std::string last_scope_;
};

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SUPPORT_SMART_TOKEN_SERVER_H_
