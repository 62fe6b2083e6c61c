// Replays the fuzz targets' kept inputs (fuzz/corpus/<target>/) and seeds
// from the shared test data through the targets' own checks, so that every
// input a fuzzer once crashed on stays fixed in the normal suite. A failed
// check aborts with the target's message (as it does under libFuzzer).

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" {
int atom_page_fuzzer_one_input(const std::uint8_t* data, std::size_t size);
int fhir_prepare_fuzzer_one_input(const std::uint8_t* data, std::size_t size);
int bundle_fuzzer_one_input(const std::uint8_t* data, std::size_t size);
int openmrs_rest_json_fuzzer_one_input(const std::uint8_t* data, std::size_t size);
int config_fuzzer_one_input(const std::uint8_t* data, std::size_t size);
int request_target_fuzzer_one_input(const std::uint8_t* data, std::size_t size);
}

namespace {

namespace fs = std::filesystem;

struct Target {
  const char* name;
  int (*one_input)(const std::uint8_t*, std::size_t);
  const char* test_data;  // a folder of the shared test data holding seeds, or ""
  const char* extension;  // of the seed files there
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<fs::path> FilesIn(const fs::path& folder, const std::string& extension) {
  std::vector<fs::path> files;
  if (!fs::is_directory(folder)) return files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_regular_file() &&
        (extension.empty() || entry.path().extension() == extension)) {
      files.push_back(entry.path());
    }
  }
  return files;
}

class FuzzCorpusTest : public testing::TestWithParam<Target> {};

TEST_P(FuzzCorpusTest, EveryKeptInputAndSeedPasses) {
  const Target& target = GetParam();
  std::vector<fs::path> inputs = FilesIn(fs::path(FHIRSYNC_FUZZ_CORPUS) / target.name, "");
  if (*target.test_data != '\0') {
    std::vector<fs::path> seeds =
        FilesIn(fs::path(FHIRSYNC_TEST_DATA) / target.test_data, target.extension);
    ASSERT_FALSE(seeds.empty()) << "no seeds in " << FHIRSYNC_TEST_DATA << "/"
                                << target.test_data;
    inputs.insert(inputs.end(), seeds.begin(), seeds.end());
  }
  ASSERT_FALSE(inputs.empty()) << "no input for " << target.name;
  for (const fs::path& input : inputs) {
    SCOPED_TRACE(input.string());
    const std::string bytes = ReadFile(input);
    EXPECT_EQ(target.one_input(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
              0);
  }
}

// The FHIR bodies: the first lines of each bulk file (a whole file is one
// input to no target).
TEST(FuzzSeedTest, BulkResourcesPrepareAndStampStably) {
  std::vector<fs::path> files = FilesIn(fs::path(FHIRSYNC_TEST_DATA) / "fhir-r4-bulk", ".ndjson");
  ASSERT_FALSE(files.empty());
  for (const fs::path& file : files) {
    std::ifstream in(file);
    std::string line;
    for (int n = 0; n < 5 && std::getline(in, line); ++n) {
      SCOPED_TRACE(file.string() + " line " + std::to_string(n + 1));
      fhir_prepare_fuzzer_one_input(reinterpret_cast<const std::uint8_t*>(line.data()),
                                    line.size());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Targets, FuzzCorpusTest,
    testing::Values(Target{"atom_page_fuzzer", atom_page_fuzzer_one_input, "openmrs-atomfeed",
                           ".xml"},
                    Target{"fhir_prepare_fuzzer", fhir_prepare_fuzzer_one_input, "", ""},
                    Target{"bundle_fuzzer", bundle_fuzzer_one_input, "", ""},
                    Target{"openmrs_rest_json_fuzzer", openmrs_rest_json_fuzzer_one_input,
                           "openmrs-rest", ".json"},
                    Target{"config_fuzzer", config_fuzzer_one_input, "", ""},
                    Target{"request_target_fuzzer", request_target_fuzzer_one_input, "", ""}),
    [](const testing::TestParamInfo<Target>& info) { return std::string(info.param.name); });

}  // namespace
