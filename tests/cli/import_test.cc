// `fhirsync import` run as a real process over the real Synthea NDJSON files
// in ../shared/testdata/fhir-r4-bulk/, and over deliberately broken copies.

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "cli_harness.h"

namespace fhirsync::cli_test {
namespace {

std::vector<std::string> BulkFiles() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(kTestData + "/fhir-r4-bulk")) {
    if (entry.path().extension() == ".ndjson") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Distinct ids per resourceType, counted from the files themselves.
std::map<std::string, std::set<std::string>> IdsPerType(const std::vector<std::string>& files,
                                                        std::size_t* lines) {
  std::map<std::string, std::set<std::string>> ids;
  *lines = 0;
  for (const std::string& file : files) {
    std::istringstream in(ReadTextFile(file));
    std::string line;
    while (std::getline(in, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      ++*lines;
      rapidjson::Document doc;
      doc.Parse(line.c_str(), line.size());
      EXPECT_FALSE(doc.HasParseError()) << file;
      if (doc.HasParseError()) continue;
      ids[doc["resourceType"].GetString()].insert(doc["id"].GetString());
    }
  }
  return ids;
}

std::string FirstLines(const std::string& file, int n) {
  std::istringstream in(ReadTextFile(file));
  std::string line, out;
  for (int i = 0; i < n && std::getline(in, line); ++i) out += line + "\n";
  return out;
}

TEST_F(CliTest, ImportsTheSyntheaFilesWithTheRightCountsPerType) {
  InitNode();
  std::vector<std::string> files = BulkFiles();
  ASSERT_GE(files.size(), 10u) << "test data missing in " << kTestData;
  std::size_t lines = 0;
  std::map<std::string, std::set<std::string>> expected = IdsPerType(files, &lines);

  std::vector<std::string> args = files;
  args.insert(args.end(), {"--batch", "500", "--json"});
  ProcessResult r = Run("import", args);
  ASSERT_EQ(r.exit_code, 0) << r.Describe() << "\n" << r.err;
  EXPECT_TRUE(r.err.empty()) << "stderr is not a terminal, so no progress: " << r.err;
  rapidjson::Document summary;
  ASSERT_TRUE(ParseJson(r.out, &summary));
  ASSERT_TRUE(HasFields(summary, {"files", "resources", "written", "unchanged", "seconds",
                                  "per_second"}));
  EXPECT_EQ(summary["resources"].GetInt64(), static_cast<std::int64_t>(lines));
  EXPECT_EQ(summary["written"].GetInt64(), static_cast<std::int64_t>(lines));
  EXPECT_EQ(summary["unchanged"].GetInt64(), 0);
  ASSERT_EQ(summary["files"].Size(), files.size());
  for (const auto& f : summary["files"].GetArray()) {
    ASSERT_TRUE(HasFields(f, {"file", "resources", "written", "unchanged"}));
  }

  rapidjson::Document stats = RunJson("stats");
  std::map<std::string, std::int64_t> got;
  for (const auto& t : stats["types"].GetArray()) {
    got[t["type"].GetString()] = t["live"].GetInt64();
    EXPECT_EQ(t["deleted"].GetInt64(), 0) << t["type"].GetString();
  }
  std::map<std::string, std::int64_t> want;
  for (const auto& [type, ids] : expected) want[type] = static_cast<std::int64_t>(ids.size());
  EXPECT_EQ(got, want);
  EXPECT_EQ(stats["last_seq"].GetInt64(), static_cast<std::int64_t>(lines));
  EXPECT_EQ(stats["outbox_pending"].GetInt64(), static_cast<std::int64_t>(lines));

  // A resource reads back with its content.
  std::string patient_line = FirstLines(kTestData + "/fhir-r4-bulk/Patient.000.ndjson", 1);
  rapidjson::Document source;
  ASSERT_TRUE(ParseJson(patient_line, &source));
  rapidjson::Document stored =
      RunJson("get", {std::string("Patient/") + source["id"].GetString()});
  EXPECT_EQ(stored["resource"]["name"], source["name"]);

  // Importing the same files again changes nothing.
  args.pop_back();
  args.push_back("--json");
  ProcessResult again = Run("import", args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  ASSERT_TRUE(ParseJson(again.out, &summary));
  EXPECT_EQ(summary["written"].GetInt64(), 0);
  EXPECT_EQ(summary["unchanged"].GetInt64(), static_cast<std::int64_t>(lines));
  EXPECT_EQ(RunJson("stats")["last_seq"].GetInt64(), static_cast<std::int64_t>(lines));
}

TEST_F(CliTest, ImportHumanSummary) {
  InitNode();
  std::string file = kTestData + "/fhir-r4-bulk/Organization.000.ndjson";
  std::size_t lines = 0;
  IdsPerType({file}, &lines);
  ProcessResult r = Run("import", {file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("imported " + std::to_string(lines) + " resources from 1 file"),
            std::string::npos) << r.out;
}

TEST_F(CliTest, BadLinesAreNamedByFileAndLineAndNothingIsImported) {
  InitNode();
  // A good file first, then a broken copy of real data: the bad lines are
  // in the second batch of the broken file, after good lines.
  std::string good = kTestData + "/fhir-r4-bulk/Organization.000.ndjson";
  std::string bad = tmp_.Sub("broken.ndjson");
  std::string real = FirstLines(kTestData + "/fhir-r4-bulk/Practitioner.000.ndjson", 6);
  WriteTextFile(bad, real + "{\"resourceType\":\"Patient\",\"id\":\"x\",\n" +  // line 7
                         "\n" +                                                  // blank
                         "{\"id\":\"no-type\"}\n" +                              // line 9
                         "{\"resourceType\":\"Patient\",\"id\":\"bad id!\"}\n"   // line 10
                         "[1,2]\n");                                             // line 11

  ProcessResult r = Run("import", {good, bad, "--batch", "3"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("fhirsync import: " + bad + ":7: body is not valid JSON"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bad + ":9: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("resourceType"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bad + ":10: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bad + ":11: "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(bad + ":8:"), std::string::npos) << "blank lines are skipped: " << r.err;
  EXPECT_NE(r.err.find("4 problems; nothing was imported"), std::string::npos) << r.err;

  // The store is unchanged: not even the good file went in.
  rapidjson::Document stats = RunJson("stats");
  EXPECT_EQ(stats["last_seq"].GetInt64(), 0);
  EXPECT_EQ(stats["types"].Size(), 0u);
  EXPECT_EQ(stats["outbox_pending"].GetInt64(), 0);
}

// Bytes that are not UTF-8 would be stored and then served to every child
// byte for byte: import and put refuse them, naming where they are.
TEST_F(CliTest, BodiesThatAreNotUtf8AreRefusedByImportAndPut) {
  InitNode();
  const std::string bad = tmp_.Sub("latin1.ndjson");
  WriteTextFile(bad, std::string("{\"resourceType\":\"Patient\",\"id\":\"a\"}\n") +
                         "{\"resourceType\":\"Patient\",\"id\":\"b\",\"x\":\"Jos\xe9\"}\n" +
                         "{\"resourceType\":\"Patient\",\"id\":\"c\",\"x\":\"\xc0\xaf\"}\n" +
                         "{\"resourceType\":\"Patient\",\"id\":\"d\",\"x\":\"\\udc00\"}\n");
  ProcessResult r = Run("import", {bad});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(bad + ":2: body is not valid UTF-8"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bad + ":3: body is not valid UTF-8"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bad + ":4: body has a lone UTF-16 surrogate"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find(bad + ":1:"), std::string::npos) << r.err;
  EXPECT_EQ(RunJson("stats")["last_seq"].GetInt64(), 0);

  WriteTextFile(tmp_.Sub("p.json"),
                "{\"resourceType\":\"Patient\",\"id\":\"p\",\"x\":\"\xff\xfe\"}");
  ProcessResult put = Run("put", {tmp_.Sub("p.json")});
  EXPECT_NE(put.exit_code, 0);
  EXPECT_NE(put.err.find("not valid UTF-8"), std::string::npos) << put.err;
  EXPECT_EQ(RunJson("stats")["last_seq"].GetInt64(), 0);
}

TEST_F(CliTest, ImportOfAMissingFileWritesNothing) {
  InitNode();
  std::string good = kTestData + "/fhir-r4-bulk/Organization.000.ndjson";
  ProcessResult r = Run("import", {good, tmp_.Sub("missing.ndjson")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.ndjson: cannot open"), std::string::npos) << r.err;
  EXPECT_EQ(RunJson("stats")["last_seq"].GetInt64(), 0);
}

TEST_F(CliTest, OversizeLineIsNamedWithoutReadingItWhole) {
  InitNode();
  // Lower the body cap so the test stays small.
  std::string config = ReadTextFile(node_ + "/fhirsync.json");
  std::size_t at = config.find("\"max_body_bytes\": ");
  ASSERT_NE(at, std::string::npos);
  std::size_t end = config.find_first_of(",\n}", at + 18);
  config.replace(at, end - at, "\"max_body_bytes\": 1000");
  WriteTextFile(node_ + "/fhirsync.json", config);
  std::string file = tmp_.Sub("big.ndjson");
  WriteTextFile(file, R"({"resourceType":"Basic","id":"a"})" "\n" +
                          std::string(R"({"resourceType":"Basic","id":"b","text":")") +
                          std::string(5000, 'x') + "\"}\n");
  ProcessResult r = Run("import", {file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(file + ":2: line of "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("larger than store.max_body_bytes (1000)"), std::string::npos) << r.err;
  EXPECT_EQ(RunJson("stats")["last_seq"].GetInt64(), 0);
}

TEST_F(CliTest, ImportShowsProgressOnATerminal) {
  InitNode();
  std::string file = kTestData + "/fhir-r4-bulk/Procedure.000.ndjson";
  std::size_t lines = 0;
  IdsPerType({file}, &lines);
  ProcessOptions tty;
  tty.stderr_is_terminal = true;
  ProcessResult r = Run("import", {file, "--batch", "100"}, tty);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("importing "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/" + std::to_string(lines) + " ("), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("imported " + std::to_string(lines)), std::string::npos) << r.out;
}

TEST_F(CliTest, ImportNeedsFilesNotStdin) {
  InitNode();
  ProcessResult r = Run("import");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("fhirsync import: missing argument"), std::string::npos) << r.err;
  r = Run("import", {"-"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("reads files, not stdin"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fhirsync::cli_test
