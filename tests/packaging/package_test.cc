// Integration: `cpack -G DEB` in the build folder makes fhirsync,
// fhirsync-plugin-dev and fhirsync-dev packages holding what an operator and
// an implementer need: the program, the plugins, the systemd units, the man
// page, the bash completion, the LICENSE, the SDK headers and fhirsync.pc. Checked with
// dpkg -c and dpkg-deb, and by using the unpacked files.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

namespace fs = std::filesystem;

using ::fhirsync::testing::ProcessOptions;
using ::fhirsync::testing::ProcessResult;
using ::fhirsync::testing::RunProcess;
using ::fhirsync::testing::TempDir;

const std::string kBuildDir = FHIRSYNC_BUILD_DIR;

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

ProcessResult RunTool(const std::vector<std::string>& argv, const std::string& cwd = "") {
  ProcessOptions options;
  options.cwd = cwd;
  options.timeout = std::chrono::minutes(10);
  return RunProcess(argv, options);
}

class PackageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* tool : {"/usr/bin/dpkg", "/usr/bin/dpkg-deb"}) {
      if (!fs::exists(tool)) {
        skip_reason_ = new std::string(std::string(tool) + " is not installed");
        return;
      }
    }
    out_ = new TempDir("fhirsync-package");
    // As an operator would: cpack in the build folder (the packages land in
    // a folder of the test's own).
    ProcessResult cpack = RunTool({FHIRSYNC_CPACK, "-G", "DEB", "-B", out_->path()}, kBuildDir);
    cpack_log_ = new std::string(cpack.Describe() + "\n" + cpack.out + cpack.err);
    if (cpack.exit_code != 0) return;
    for (const auto& entry : fs::directory_iterator(out_->path())) {
      const std::string name = entry.path().filename().string();
      if (entry.path().extension() != ".deb") continue;
      if (name.rfind("fhirsync-dev_", 0) == 0) {
        dev_ = new std::string(entry.path().string());
      } else if (name.rfind("fhirsync-plugin-dev_", 0) == 0) {
        sdk_ = new std::string(entry.path().string());
      } else if (name.rfind("fhirsync_", 0) == 0) {
        runtime_ = new std::string(entry.path().string());
      }
    }
  }

  // The packages and what was unpacked from them (about 800 MB a run) go
  // with the suite: ctest runs each test in a process of its own.
  static void TearDownTestSuite() {
    delete out_;
    out_ = nullptr;
    for (std::string** text : {&skip_reason_, &cpack_log_, &runtime_, &dev_, &sdk_}) {
      delete *text;
      *text = nullptr;
    }
  }

  void SetUp() override {
    if (skip_reason_ != nullptr) GTEST_SKIP() << *skip_reason_;
    ASSERT_NE(runtime_, nullptr) << "no fhirsync_*.deb; cpack said:\n" << *cpack_log_;
    ASSERT_NE(dev_, nullptr) << "no fhirsync-dev_*.deb; cpack said:\n" << *cpack_log_;
    ASSERT_NE(sdk_, nullptr) << "no fhirsync-plugin-dev_*.deb; cpack said:\n" << *cpack_log_;
  }

  // `dpkg -c PACKAGE`: one line per file.
  static std::string Contents(const std::string& package) {
    ProcessResult r = RunTool({"/usr/bin/dpkg", "-c", package});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  // Unpacks `package` into a fresh folder; returns it.
  std::string Unpack(const std::string& package) {
    const std::string root = out_->path() + "/root-" + fs::path(package).stem().string();
    ProcessResult r = RunTool({"/usr/bin/dpkg-deb", "-x", package, root});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return root;
  }

  static inline std::string* skip_reason_ = nullptr;
  static inline TempDir* out_ = nullptr;
  static inline std::string* cpack_log_ = nullptr;
  static inline std::string* runtime_ = nullptr;
  static inline std::string* dev_ = nullptr;
  static inline std::string* sdk_ = nullptr;  // fhirsync-plugin-dev
};

// " ./usr/bin/fhirsync" at the end of a `dpkg -c` line.
bool Lists(const std::string& contents, const std::string& path) {
  return contents.find(" ." + path + "\n") != std::string::npos ||
         contents.find(" ." + path + " -> ") != std::string::npos;
}

TEST_F(PackageTest, TheProgramPackageHoldsWhatAnOperatorNeeds) {
  const std::string contents = Contents(*runtime_);
  for (const char* path : {
           "/usr/bin/fhirsync",
           "/usr/bin/fhirsync-demo",  // what `fhirsync demo` runs, beside it
           "/usr/lib/fhirsync/plugins/fhirsync-fhir.so",
           "/usr/lib/fhirsync/plugins/fhirsync-openmrs-rest.so",
           "/usr/lib/fhirsync/plugins/fhirsync-folder.so",
           "/usr/lib/systemd/system/fhirsync-serve@.service",
           "/usr/lib/systemd/system/fhirsync-sync@.service",
           "/usr/share/man/man1/fhirsync.1.gz",
           "/usr/share/bash-completion/completions/fhirsync",
           "/usr/share/doc/fhirsync/LICENSE",
           "/usr/share/doc/fhirsync/docs/operator-guide.md",
       }) {
    EXPECT_TRUE(Lists(contents, path)) << path << " missing from " << *runtime_ << ":\n"
                                       << contents;
  }
  // No test helper or SDK file slipped in.
  EXPECT_EQ(contents.find("/include/"), std::string::npos) << contents;
  EXPECT_EQ(contents.find("testing"), std::string::npos) << contents;

  ProcessResult control = RunTool({"/usr/bin/dpkg-deb", "-f", *runtime_, "Package", "Version", "Depends"});
  ASSERT_EQ(control.exit_code, 0) << control.err;
  EXPECT_NE(control.out.find("Package: fhirsync\n"), std::string::npos) << control.out;
  EXPECT_NE(control.out.find(std::string("Version: ") + FHIRSYNC_VERSION), std::string::npos);
  EXPECT_NE(control.out.find("adduser"), std::string::npos) << control.out;
  EXPECT_NE(control.out.find("libsystemd0"), std::string::npos) << control.out;
  // The maintainer scripts that make the fhirsync user.
  const std::string control_dir = out_->path() + "/control";
  ASSERT_EQ(RunTool({"/usr/bin/dpkg-deb", "-e", *runtime_, control_dir}).exit_code, 0);
  EXPECT_NE(ReadText(control_dir + "/postinst").find("adduser --system"), std::string::npos);
}

TEST_F(PackageTest, TheUnitsAreNotifyServicesSandboxedToTheNodeFolder) {
  const std::string root = Unpack(*runtime_);
  for (const std::string verb : {"serve", "sync"}) {
    const std::string unit =
        ReadText(root + "/usr/lib/systemd/system/fhirsync-" + verb + "@.service");
    ASSERT_FALSE(unit.empty()) << verb;
    const std::string exec = verb == "serve" ? "ExecStart=/usr/bin/fhirsync serve --dir %f\n"
                                             : "ExecStart=/usr/bin/fhirsync sync --watch --dir %f\n";
    EXPECT_NE(unit.find(exec), std::string::npos) << unit;
    for (const char* line : {"Type=notify\n", "KillSignal=SIGTERM\n", "User=fhirsync\n",
                             "ProtectSystem=strict\n", "ReadWritePaths=%f\n",
                             "NoNewPrivileges=yes\n", "PrivateTmp=yes\n", "CapabilityBoundingSet=\n",
                             "WantedBy=multi-user.target\n"}) {
      EXPECT_NE(unit.find(line), std::string::npos) << verb << " lacks " << line;
    }
    EXPECT_EQ(unit.find('@' + std::string("FHIRSYNC")), std::string::npos) << unit;
  }
}

// systemd itself reads the units: no unknown key or bad value, and the
// sandbox rated at most 2.5 on `systemd-analyze security`'s 0-10 exposure
// scale (0 is fully locked down).
TEST_F(PackageTest, SystemdAcceptsTheUnitsAndRatesTheirSandbox) {
  const std::string analyze = "/usr/bin/systemd-analyze";
  ASSERT_TRUE(fs::exists(analyze)) << "systemd-analyze missing (scripts/install-deps.sh installs systemd)";
  const std::string root = Unpack(*runtime_);
  for (const std::string verb : {"serve", "sync"}) {
    // An instance of the template, as `systemctl start` would make it.
    const std::string unit = out_->path() + "/fhirsync-" + verb + "@var-lib-fhirsync-n1.service";
    fs::copy_file(root + "/usr/lib/systemd/system/fhirsync-" + verb + "@.service", unit,
                  fs::copy_options::overwrite_existing);
    ProcessResult verify = RunTool({analyze, "verify", "--man=no", unit});
    std::istringstream lines(verify.out + verify.err);
    for (std::string line; std::getline(lines, line);) {
      // The one complaint expected off an installed system.
      if (line.find("Command /usr/bin/fhirsync is not executable") != std::string::npos) continue;
      ADD_FAILURE() << verb << ": " << line;
    }
    ProcessResult security =
        RunTool({analyze, "security", "--offline=true", "--threshold=25", unit});
    EXPECT_EQ(security.exit_code, 0) << security.out << security.err;
  }
}

TEST_F(PackageTest, TheUnpackedProgramFindsItsPluginsBesideIt) {
  const std::string root = Unpack(*runtime_);
  const std::string program = root + "/usr/bin/fhirsync";
  ProcessResult version = RunTool({program, "--version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_EQ(version.out, std::string("fhirsync ") + FHIRSYNC_VERSION + "\n");
  // A node that loads the folder plugin by name only: found in
  // <program>/../lib/fhirsync/plugins, as installed.
  const std::string node = out_->path() + "/node";
  const std::string usb = out_->path() + "/usb";
  fs::create_directories(usb);
  ASSERT_EQ(RunTool({program, "init", "--dir", node, "--node-id", "packaged"}).exit_code, 0);
  ProcessResult add = RunTool({program, "config", "add", "plugins.load",
                           R"({"name":"folder","options":{"dir":")" + usb + R"("}})", "--dir",
                           node});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  ProcessResult plugins = RunTool({program, "plugins", "--json", "--dir", node});
  EXPECT_EQ(plugins.exit_code, 0) << plugins.err;
  EXPECT_NE(plugins.out.find("\"folder\""), std::string::npos) << plugins.out;
  EXPECT_NE(plugins.out.find(root + "/usr/lib/fhirsync/plugins/fhirsync-folder.so"),
            std::string::npos)
      << plugins.out;
}

TEST_F(PackageTest, TheDevPackageHoldsTheSdkAndItsPkgConfigFile) {
  // The plugin SDK is a package of its own, which fhirsync-dev builds on.
  const std::string contents = Contents(*sdk_);
  for (const char* path : {"/usr/include/fhirsync/plugin/abi.h",
                           "/usr/include/fhirsync/plugin/transport_plugin.h",
                           "/usr/include/fhirsync/status.h",
                           "/usr/lib/pkgconfig/fhirsync.pc",
                           "/usr/lib/cmake/fhirsync/fhirsyncConfig.cmake",
                           "/usr/lib/cmake/fhirsync/fhirsyncPluginApiTargets.cmake"}) {
    EXPECT_TRUE(Lists(contents, path)) << path << " missing from " << *sdk_ << ":\n" << contents;
  }
  // Header-only: no library, and no database client to install with it.
  EXPECT_EQ(contents.find(".a\n"), std::string::npos) << contents;
  ProcessResult sdk_control = RunTool({"/usr/bin/dpkg-deb", "-f", *sdk_, "Package", "Depends"});
  ASSERT_EQ(sdk_control.exit_code, 0) << sdk_control.err;
  EXPECT_NE(sdk_control.out.find("Package: fhirsync-plugin-dev\n"), std::string::npos)
      << sdk_control.out;
  for (const char* client : {"libpq-dev", "libpoco-dev", "libsqlite3-dev"}) {
    EXPECT_EQ(sdk_control.out.find(client), std::string::npos) << sdk_control.out;
  }
  const std::string dev_contents = Contents(*dev_);
  for (const char* path : {"/usr/lib/libfhirsync.a", "/usr/include/fhirsync/local_store.h",
                           "/usr/lib/cmake/fhirsync/fhirsyncTargets.cmake"}) {
    EXPECT_TRUE(Lists(dev_contents, path)) << path << " missing from " << *dev_ << ":\n"
                                           << dev_contents;
  }
  ProcessResult dev_control = RunTool({"/usr/bin/dpkg-deb", "-f", *dev_, "Depends"});
  ASSERT_EQ(dev_control.exit_code, 0) << dev_control.err;
  EXPECT_NE(dev_control.out.find(std::string("fhirsync-plugin-dev (= ") + FHIRSYNC_VERSION + ")"),
            std::string::npos)
      << dev_control.out;
  EXPECT_NE(dev_control.out.find("libpq-dev"), std::string::npos) << dev_control.out;
  // The .pc file works from the unpacked package: its flags compile a
  // source that uses the plugin ABI, and it names the plugin folder.
  const std::string root = Unpack(*sdk_);
  ProcessOptions options;
  options.env = {"PKG_CONFIG_PATH=" + root + "/usr/lib/pkgconfig"};
  ProcessResult cflags =
      RunProcess({FHIRSYNC_PKG_CONFIG, "--define-prefix", "--cflags", "fhirsync"}, options);
  ASSERT_EQ(cflags.exit_code, 0) << cflags.err;
  EXPECT_NE(cflags.out.find("-I" + root + "/usr/include"), std::string::npos) << cflags.out;
  ProcessResult abi = RunProcess({FHIRSYNC_PKG_CONFIG, "--variable=abi_version", "fhirsync"}, options);
  EXPECT_EQ(abi.out, "1.2\n");
  ProcessResult plugindir = RunProcess({FHIRSYNC_PKG_CONFIG, "--variable=plugindir", "fhirsync"}, options);
  EXPECT_EQ(plugindir.out, "/usr/lib/fhirsync/plugins\n");

  const std::string source = out_->path() + "/uses_abi.cc";
  std::ofstream(source) << "#include \"fhirsync/plugin/abi.h\"\n"
                           "static_assert(fhirsync::kPluginAbiMajor == 1);\n"
                           "int main() { return 0; }\n";
  std::vector<std::string> compile{FHIRSYNC_CXX, "-std=c++20", "-fsyntax-only"};
  std::istringstream words(cflags.out);
  for (std::string word; words >> word;) compile.push_back(word);
  compile.push_back(source);
  ProcessResult compiled = RunTool(compile);
  EXPECT_EQ(compiled.exit_code, 0) << compiled.err;
}

}  // namespace
}  // namespace fhirsync
