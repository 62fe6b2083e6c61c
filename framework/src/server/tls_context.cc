#include "server/tls_context.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <filesystem>

#include "fhirsync/base/text_util.h"

namespace fhirsync::server {
namespace {

std::string Resolve(const std::string& path, const std::string& base_dir) {
  if (path.empty() || base_dir.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(base_dir) / path).string();
}

}  // namespace

StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const ServerTlsConfig& tls, const std::string& base_dir) {
  namespace ssl = boost::asio::ssl;
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  // Older protocols have known breaks; every client fhirsync serves speaks
  // TLS 1.2 at least.
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
    return InternalError("cannot set the minimum TLS version to 1.2");
  }
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                       ssl::context::single_dh_use);
  auto load = [&](const char* key, const std::string& file, auto&& step) -> Status {
    const std::string path = Resolve(file, base_dir);
    boost::system::error_code error;
    step(path, error);
    if (!error) return Status::Ok();
    return InvalidArgumentError("server.tls." + std::string(key) + " '" +
                                EscapeForMessage(path) +
                                "' cannot be used: " + EscapeForMessage(error.message()));
  };
  FHIRSYNC_RETURN_IF_ERROR(load("cert_file", tls.cert_file,
                                [&](const std::string& p, boost::system::error_code& e) {
                                  context->use_certificate_chain_file(p, e);
                                }));
  // After the certificate, so that OpenSSL checks that the key is its key
  // ("key values mismatch" otherwise).
  FHIRSYNC_RETURN_IF_ERROR(load("key_file", tls.key_file,
                                [&](const std::string& p, boost::system::error_code& e) {
                                  context->use_private_key_file(p, ssl::context::pem, e);
                                }));
  if (!tls.client_ca_file.empty()) {
    FHIRSYNC_RETURN_IF_ERROR(load("client_ca_file", tls.client_ca_file,
                                  [&](const std::string& p, boost::system::error_code& e) {
                                    context->load_verify_file(p, e);
                                  }));
    context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return context;
}

std::string CertificateName(void* ssl) {
  SSL* connection = static_cast<SSL*>(ssl);
  if (SSL_get_verify_result(connection) != X509_V_OK) return "";
  X509* peer = SSL_get1_peer_certificate(connection);
  if (peer == nullptr) return "";
  std::string name;
  X509_NAME* subject = X509_get_subject_name(peer);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    unsigned char* utf8 = nullptr;
    int length = ASN1_STRING_to_UTF8(&utf8, data);
    if (length > 0) name.assign(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
    OPENSSL_free(utf8);
  }
  X509_free(peer);
  return name;
}

}  // namespace fhirsync::server
