// TlsTestCa: a throwaway certificate authority for TLS tests, made in a
// folder the test owns with the `openssl` program (scripts/install-deps.sh
// installs it), and HTTPS listening sockets (Poco NetSSL) that present its
// certificates. Put a FaultProxy (fault_proxy.h) on such a socket in front
// of a plain `fhirsync serve` and a child speaks TLS to a real parent.
//
//   TlsTestCa ca(dir);
//   ASSERT_TRUE(ca.Create()) << ca.error();
//   ASSERT_TRUE(ca.Issue("server", "IP:127.0.0.1,DNS:localhost")) << ca.error();
//   FaultProxy tls_front("127.0.0.1", parent_port, ca.ListenTls("server"), "https");
//   ... child: init --parent tls_front.base_url("") --parent-ca ca.ca_file() ...
//
// Header-only; link Poco::NetSSL and OpenSSL::SSL.
//
// Thread safety: one test thread.

#ifndef FHIRSYNC_TESTS_SUPPORT_TLS_TEST_CA_H_
#define FHIRSYNC_TESTS_SUPPORT_TLS_TEST_CA_H_

#include <openssl/ssl.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include <Poco/Net/Context.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include "support/subprocess.h"

namespace fhirsync::testing {

class TlsTestCa {
 public:
  explicit TlsTestCa(std::string dir) : dir_(std::move(dir)) {}

  // The CA's key and self-signed certificate (P-256, valid two days).
  bool Create(const std::string& name = "fhirsync test CA") {
    std::filesystem::create_directories(dir_);
    return Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", Path(name_ + ".key"), "-out", ca_file(), "-days", "2",
                    "-subj", "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  }

  // A server certificate `leaf`.pem (key `leaf`.key) signed by this CA for
  // the subjectAltName entries `san` ("IP:127.0.0.1,DNS:localhost").
  bool Issue(const std::string& leaf, const std::string& san) {
    {
      std::ofstream ext(Path(leaf + ".ext"));
      ext << "subjectAltName=" << san << "\nbasicConstraints=CA:FALSE\n"
          << "extendedKeyUsage=serverAuth\n";
    }
    return Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", Path(leaf + ".key"), "-out", Path(leaf + ".csr"), "-subj",
                    "/CN=" + leaf}) &&
           Openssl({"x509", "-req", "-in", Path(leaf + ".csr"), "-CA", ca_file(), "-CAkey",
                    Path(name_ + ".key"), "-CAcreateserial", "-out", Path(leaf + ".pem"),
                    "-days", "2", "-extfile", Path(leaf + ".ext")});
  }

  // A socket listening on 127.0.0.1 (a port the OS picks) that speaks TLS
  // with certificate `leaf`. max_version (e.g. TLS1_1_VERSION) makes an old
  // server, which also drops OpenSSL's security level so that it may.
  Poco::Net::SecureServerSocket ListenTls(const std::string& leaf, int max_version = 0) {
    static std::once_flag initialised;
    std::call_once(initialised, [] { Poco::Net::initializeSSL(); });
    Poco::Net::Context::Ptr context = new Poco::Net::Context(
        Poco::Net::Context::TLS_SERVER_USE, Path(leaf + ".key"), Path(leaf + ".pem"), "",
        Poco::Net::Context::VERIFY_NONE, 9, false,
        max_version != 0 ? "DEFAULT:@SECLEVEL=0" : "DEFAULT");
    if (max_version != 0) {
      SSL_CTX_set_security_level(context->sslContext(), 0);
      SSL_CTX_set_min_proto_version(context->sslContext(), TLS1_VERSION);
      SSL_CTX_set_max_proto_version(context->sslContext(), max_version);
    }
    return Poco::Net::SecureServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0), 64, context);
  }

  std::string ca_file() const { return Path(name_ + ".pem"); }
  const std::string& error() const { return error_; }

 private:
  std::string Path(const std::string& file) const { return dir_ + "/" + file; }

  bool Openssl(std::vector<std::string> args) {
    const std::string program = "/usr/bin/openssl";
    if (!std::filesystem::exists(program)) {
      error_ = program + " is missing (scripts/install-deps.sh installs it)";
      return false;
    }
    args.insert(args.begin(), program);
    ProcessResult run = RunProcess(args);
    if (run.exit_code != 0) {
      error_ = "openssl " + args[1] + ": " + run.Describe() + ": " + run.err;
      return false;
    }
    return true;
  }

  const std::string name_ = "ca";
  std::string dir_;
  std::string error_;
};

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SUPPORT_TLS_TEST_CA_H_
