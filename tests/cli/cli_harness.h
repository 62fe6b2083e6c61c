// Shared helpers of the CLI tests: run the real `fhirsync` binary in a
// temporary node folder and parse its JSON output.

#ifndef FHIRSYNC_TESTS_CLI_CLI_HARNESS_H_
#define FHIRSYNC_TESTS_CLI_CLI_HARNESS_H_

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync::cli_test {

using ::fhirsync::testing::ProcessOptions;
using ::fhirsync::testing::ProcessResult;
using ::fhirsync::testing::RunProcess;
using ::fhirsync::testing::TempDir;

inline const std::string kBinary = FHIRSYNC_BINARY;
inline const std::string kTestData = FHIRSYNC_TEST_DATA;

// Runs `fhirsync args...`.
inline ProcessResult Fhirsync(const std::vector<std::string>& args,
                              const ProcessOptions& options = {}) {
  std::vector<std::string> argv{kBinary};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, options);
}

// Parses `text` into `doc`; a failure names the parse error and the text.
inline ::testing::AssertionResult ParseJson(const std::string& text, rapidjson::Document* doc) {
  doc->Parse(text.c_str(), text.size());
  if (doc->HasParseError()) {
    return ::testing::AssertionFailure()
           << "not JSON: " << rapidjson::GetParseError_En(doc->GetParseError()) << " at "
           << doc->GetErrorOffset() << " in: " << text;
  }
  return ::testing::AssertionSuccess();
}

// Every key in `keys` is present in `object`.
inline ::testing::AssertionResult HasFields(const rapidjson::Value& object,
                                            std::initializer_list<const char*> keys) {
  if (!object.IsObject()) return ::testing::AssertionFailure() << "not an object";
  for (const char* key : keys) {
    if (!object.HasMember(key)) return ::testing::AssertionFailure() << "no field '" << key << "'";
  }
  return ::testing::AssertionSuccess();
}

inline void WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

inline std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A test with a fresh node folder (initialised unless the test says not).
class CliTest : public ::testing::Test {
 protected:
  CliTest() : tmp_("fhirsync-cli"), node_(tmp_.Sub("node")) {}

  void InitNode(const std::string& node_id = "test-node") {
    ProcessResult r = Fhirsync({"init", "--dir", node_, "--node-id", node_id});
    ASSERT_EQ(r.exit_code, 0) << r.Describe() << "\n" << r.err;
  }

  // Runs a verb on this test's node: `fhirsync VERB --dir NODE args...`.
  ProcessResult Run(const std::string& verb, std::vector<std::string> args = {},
                    const ProcessOptions& options = {}) {
    args.insert(args.begin(), {verb, "--dir", node_});
    return Fhirsync(args, options);
  }

  // Runs and parses stdout as JSON; fails the test when it does not parse.
  rapidjson::Document RunJson(const std::string& verb, std::vector<std::string> args = {}) {
    args.push_back("--json");
    ProcessResult r = Run(verb, args);
    rapidjson::Document doc;
    EXPECT_EQ(r.exit_code, 0) << verb << ": " << r.Describe() << "\n" << r.err;
    EXPECT_TRUE(ParseJson(r.out, &doc)) << verb;
    return doc;
  }

  TempDir tmp_;
  std::string node_;
};

}  // namespace fhirsync::cli_test

#endif  // FHIRSYNC_TESTS_CLI_CLI_HARNESS_H_
