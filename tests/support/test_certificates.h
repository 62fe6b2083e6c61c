// A throwaway certificate authority for TLS tests, made with OpenSSL's C API
// into a folder: a CA, a server certificate for 127.0.0.1 and client
// certificates signed by it, and a second CA that signed none of them (a
// client trusting only that one must refuse the server). EC P-256 keys,
// valid from an hour ago for a day. Header-only.
//
//   TestCertificates certs = MakeTestCertificates(dir, {"nurse"});
//   ... certs.ca, certs.server_cert, certs.server_key,
//       certs.client_cert("nurse"), certs.client_key("nurse") ...
//
// Thread safety: a pure function of its arguments (it writes files).

#ifndef FHIRSYNC_TESTS_SUPPORT_TEST_CERTIFICATES_H_
#define FHIRSYNC_TESTS_SUPPORT_TEST_CERTIFICATES_H_

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace fhirsync::testing {

struct TestCertificates {
  std::string dir;
  std::string ca;           // the CA's certificate (PEM): what clients and servers trust
  std::string other_ca;     // a CA that signed nothing here
  std::string server_cert;  // CN=localhost, subjectAltName IP:127.0.0.1, DNS:localhost
  std::string server_key;
  std::string client_cert(const std::string& name) const { return dir + "/client-" + name + ".pem"; }
  std::string client_key(const std::string& name) const { return dir + "/client-" + name + ".key"; }
};

namespace certificates_internal {

inline void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("making test certificates: ") + what);
}

inline EVP_PKEY* NewKey() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  Check(key != nullptr, "EVP_EC_gen");
  return key;
}

// A certificate for `key` named CN=`name`, signed by `issuer` (null: by
// itself, with `key`).
inline X509* NewCertificate(EVP_PKEY* key, const std::string& name, X509* issuer,
                            EVP_PKEY* issuer_key, bool is_ca, const std::string& alt_names,
                            long serial) {
  X509* cert = X509_new();
  Check(cert != nullptr, "X509_new");
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : subject);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer != nullptr ? issuer : cert, cert, nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    Check(extension != nullptr, "X509V3_EXT_conf_nid");
    X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
  };
  add(NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if (is_ca) {
    add(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add(NID_key_usage, "critical,digitalSignature");
    add(NID_ext_key_usage, "serverAuth,clientAuth");
  }
  if (!alt_names.empty()) add(NID_subject_alt_name, alt_names);
  Check(X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

inline void WriteCertificate(const std::string& path, X509* cert) {
  FILE* file = std::fopen(path.c_str(), "w");
  Check(file != nullptr, "open a certificate file");
  Check(PEM_write_X509(file, cert) == 1, "PEM_write_X509");
  std::fclose(file);
}

inline void WriteKey(const std::string& path, EVP_PKEY* key) {
  FILE* file = std::fopen(path.c_str(), "w");
  Check(file != nullptr, "open a key file");
  Check(PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_PrivateKey");
  std::fclose(file);
}

}  // namespace certificates_internal

// Writes the certificates into `dir` (which must exist); throws
// std::runtime_error when OpenSSL fails.
inline TestCertificates MakeTestCertificates(const std::string& dir,
                                             const std::vector<std::string>& client_names) {
  using namespace certificates_internal;
  TestCertificates out;
  out.dir = dir;
  out.ca = dir + "/ca.pem";
  out.other_ca = dir + "/other-ca.pem";
  out.server_cert = dir + "/server.pem";
  out.server_key = dir + "/server.key";
  long serial = 1;
  EVP_PKEY* ca_key = NewKey();
  X509* ca = NewCertificate(ca_key, "fhirsync test CA", nullptr, nullptr, true, "", serial++);
  WriteCertificate(out.ca, ca);
  EVP_PKEY* other_key = NewKey();
  X509* other = NewCertificate(other_key, "fhirsync other test CA", nullptr, nullptr, true, "", serial++);
  WriteCertificate(out.other_ca, other);
  EVP_PKEY* server_key = NewKey();
  X509* server = NewCertificate(server_key, "localhost", ca, ca_key, false,
                                "IP:127.0.0.1,DNS:localhost", serial++);
  WriteCertificate(out.server_cert, server);
  WriteKey(out.server_key, server_key);
  for (const std::string& name : client_names) {
    EVP_PKEY* key = NewKey();
    X509* cert = NewCertificate(key, name, ca, ca_key, false, "", serial++);
    WriteCertificate(out.client_cert(name), cert);
    WriteKey(out.client_key(name), key);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  X509_free(server);
  EVP_PKEY_free(server_key);
  X509_free(other);
  EVP_PKEY_free(other_key);
  X509_free(ca);
  EVP_PKEY_free(ca_key);
  return out;
}

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SUPPORT_TEST_CERTIFICATES_H_
