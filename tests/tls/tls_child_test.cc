// A child whose parent speaks HTTPS: a real `fhirsync serve` (plain HTTP on
// 127.0.0.1) behind an HTTPS front on a port the OS picks, presenting a
// certificate from a CA this test makes; real child processes (`init
// --parent https://… --parent-ca`, `sync`, `status`, `verify`). The child
// must verify the certificate chain and the host name and speak TLS 1.2 or
// newer on every path to the parent (the plugins' reads, writes and feed,
// the parent's identity, status, verify).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/fault_proxy.h"
#include "support/serve_process.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"
#include "support/tls_test_ca.h"

namespace fhirsync::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kBinary = FHIRSYNC_BINARY;
constexpr char kChildUser[] = "facility-7";
constexpr char kChildPassword[] = "correct horse battery";

ProcessResult Fhirsync(const std::vector<std::string>& args, const std::string& stdin_data = "") {
  std::vector<std::string> argv{kBinary};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.stdin_data = stdin_data;
  options.timeout = std::chrono::seconds(120);
  return RunProcess(argv, options);
}

std::string Patient(const std::string& id, const std::string& family) {
  return R"({"resourceType":"Patient","id":")" + id + R"(","name":[{"family":")" + family +
         R"("}]})";
}

class TlsChildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ca_.Create()) << ca_.error();
    ASSERT_TRUE(ca_.Issue("server", "IP:127.0.0.1,DNS:localhost")) << ca_.error();
    ProcessResult init = Fhirsync({"init", "--dir", parent_dir_, "--node-id", "parent-hq"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    ProcessResult user = Fhirsync(
        {"user", "add", kChildUser, "--role", "read,write", "--dir", parent_dir_},
        std::string(kChildPassword) + "\n");
    ASSERT_EQ(user.exit_code, 0) << user.err;
    ProcessResult put = Fhirsync({"put", "-", "--dir", parent_dir_}, Patient("from-hq", "Hq"));
    ASSERT_EQ(put.exit_code, 0) << put.err;
    parent_ = std::make_unique<ServeProcess>(kBinary, parent_dir_);
    ASSERT_TRUE(parent_->Start()) << parent_->error();
  }

  // An HTTPS front for the parent presenting certificate `leaf`.
  std::unique_ptr<FaultProxy> Front(const std::string& leaf, int max_version = 0) {
    return std::make_unique<FaultProxy>("127.0.0.1", parent_->port(),
                                        ca_.ListenTls(leaf, max_version), "https");
  }

  // `init` of a child of `url`; `ca` empty: no --parent-ca.
  ProcessResult InitChild(const std::string& url, const std::string& ca) {
    std::vector<std::string> args{"init",     "--dir",         child_dir_, "--node-id",
                                  "child-1",  "--parent",      url,        "--parent-user",
                                  kChildUser};
    if (!ca.empty()) args.insert(args.end(), {"--parent-ca", ca});
    return Fhirsync(args, std::string(kChildPassword) + "\n");
  }

  TempDir temp_{"fhirsync-tls"};
  TlsTestCa ca_{temp_.Sub("ca")};
  const std::string parent_dir_ = temp_.Sub("parent");
  const std::string child_dir_ = temp_.Sub("child");
  std::unique_ptr<ServeProcess> parent_;
};

TEST_F(TlsChildTest, ChildWithTheCaPullsPushesAndVerifiesThroughTls) {
  std::unique_ptr<FaultProxy> front = Front("server");
  ProcessResult init = InitChild(front->base_url(""), ca_.ca_file());
  ASSERT_EQ(init.exit_code, 0) << init.err;

  ProcessResult pull = Fhirsync({"sync", "--once", "--pull", "--dir", child_dir_});
  ASSERT_EQ(pull.exit_code, 0) << pull.out << pull.err;
  ProcessResult pulled = Fhirsync({"get", "Patient/from-hq", "--dir", child_dir_});
  EXPECT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_THAT(pulled.out, HasSubstr("Hq"));

  ProcessResult put = Fhirsync({"put", "-", "--dir", child_dir_}, Patient("from-child", "Child"));
  ASSERT_EQ(put.exit_code, 0) << put.err;
  ProcessResult push = Fhirsync({"sync", "--once", "--push", "--dir", child_dir_});
  ASSERT_EQ(push.exit_code, 0) << push.out << push.err;
  ProcessResult pushed = Fhirsync({"get", "Patient/from-child", "--dir", parent_dir_});
  EXPECT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_THAT(pushed.out, HasSubstr("Child"));

  // Everything went through the HTTPS front, none of it around it.
  bool saw_feed = false, saw_write = false;
  for (const ProxiedRequest& request : front->requests()) {
    saw_feed = saw_feed || request.uri.find("/feed/") != std::string::npos;
    saw_write = saw_write || request.method != "GET";
  }
  EXPECT_TRUE(saw_feed);
  EXPECT_TRUE(saw_write);

  ProcessResult verify = Fhirsync({"verify", "--dir", child_dir_});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  ProcessResult status = Fhirsync({"status", "--dir", child_dir_});
  EXPECT_THAT(status.out + status.err, Not(HasSubstr("cannot be reached")));
  EXPECT_THAT(status.out + status.err, Not(HasSubstr("cannot be asked")));
}

TEST_F(TlsChildTest, ChildWithoutTheCaRefusesNamingTheCertificateProblem) {
  std::unique_ptr<FaultProxy> front = Front("server");
  ProcessResult init = InitChild(front->base_url(""), "");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  ProcessResult pull = Fhirsync({"sync", "--once", "--pull", "--dir", child_dir_});
  EXPECT_NE(pull.exit_code, 0);
  EXPECT_THAT(pull.err, HasSubstr("certificate was refused"));
  EXPECT_THAT(pull.err, HasSubstr("unable to get local issuer certificate"));
  EXPECT_THAT(pull.err, HasSubstr("parent.ca_file"));
  ProcessResult verify = Fhirsync({"verify", "--dir", child_dir_});
  EXPECT_NE(verify.exit_code, 0);
  EXPECT_THAT(verify.err, HasSubstr("certificate was refused"));
  // No request got through the handshake.
  EXPECT_TRUE(front->requests().empty());
}

TEST_F(TlsChildTest, CertificateForAnotherHostIsRefused) {
  ASSERT_TRUE(ca_.Issue("other", "DNS:other.example")) << ca_.error();
  std::unique_ptr<FaultProxy> front = Front("other");
  ProcessResult init = InitChild(front->base_url(""), ca_.ca_file());
  ASSERT_EQ(init.exit_code, 0) << init.err;
  ProcessResult pull = Fhirsync({"sync", "--once", "--pull", "--dir", child_dir_});
  EXPECT_NE(pull.exit_code, 0);
  EXPECT_THAT(pull.err, HasSubstr("certificate was refused"));
  EXPECT_THAT(pull.err, HasSubstr("IP address mismatch"));
  EXPECT_TRUE(front->requests().empty());
}

TEST_F(TlsChildTest, ServerOfferingOnlyTls11IsRefused) {
  std::unique_ptr<FaultProxy> front = Front("server", TLS1_1_VERSION);
  ProcessResult init = InitChild(front->base_url(""), ca_.ca_file());
  ASSERT_EQ(init.exit_code, 0) << init.err;
  ProcessResult pull = Fhirsync({"sync", "--once", "--pull", "--dir", child_dir_});
  EXPECT_NE(pull.exit_code, 0);
  EXPECT_THAT(pull.err, HasSubstr("TLS with 127.0.0.1"));
  EXPECT_THAT(pull.err, HasSubstr("protocol"));
  EXPECT_THAT(pull.err, HasSubstr("TLS 1.2 or newer only"));
  EXPECT_TRUE(front->requests().empty());
}

TEST_F(TlsChildTest, InitChecksTheParentCa) {
  ProcessResult plain = InitChild(parent_->url(), ca_.ca_file());
  EXPECT_NE(plain.exit_code, 0);
  EXPECT_THAT(plain.err, HasSubstr("--parent-ca is for an https:// parent"));
  ProcessResult missing = InitChild("https://127.0.0.1:1", temp_.Sub("no-such.pem"));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, HasSubstr("--parent-ca: cannot read"));
  ProcessResult not_pem = InitChild("https://127.0.0.1:1", temp_.Sub("ca/server.ext"));
  EXPECT_NE(not_pem.exit_code, 0);
  EXPECT_THAT(not_pem.err, HasSubstr("holds no PEM certificate"));
}

}  // namespace
}  // namespace fhirsync::testing
