// The arrows between targets run one way (docs/architecture.md, "Layout
// and targets"). CMake keeps a layer from linking what it must not, but an
// include path shared by the framework's layers would still let one of them
// include another's private header unnoticed; these tests read the sources
// and fail naming the file and the line that crosses a boundary.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace fhirsync {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot = FHIRSYNC_SOURCE_DIR;

// The framework's source folders (framework/src/<folder>) and the layer
// (library target) each belongs to.
const std::map<std::string, std::string>& LayerOfFolder() {
  static const auto* layers = new std::map<std::string, std::string>{
      {"core", "core"}, {"store", "store"}, {"sync", "sync"},
      {"plugin", "sync"}, {"server", "server"}, {"node", "framework"}};
  return *layers;
}

struct Include {
  fs::path file;
  int line = 0;
  std::string target;  // what is between the quotes
};

// Every `#include "..."` of the C++ sources under `dir`.
std::vector<Include> QuotedIncludes(const fs::path& dir) {
  static const std::regex kInclude(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::vector<Include> out;
  if (!fs::exists(dir)) return out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string ext = entry.path().extension().string();
    if (!entry.is_regular_file() || (ext != ".cc" && ext != ".h")) continue;
    std::ifstream in(entry.path());
    std::string text;
    int number = 0;
    while (std::getline(in, text)) {
      ++number;
      std::smatch match;
      if (std::regex_search(text, match, kInclude)) {
        out.push_back({entry.path(), number, match[1].str()});
      }
    }
  }
  return out;
}

std::string Where(const Include& include) {
  return fs::relative(include.file, kRoot).string() + ":" + std::to_string(include.line) +
         " includes \"" + include.target + "\"";
}

// The framework folder a private include names ("store/batch_writer.h" ->
// "store"), or "" when it is not one.
std::string PrivateFolder(const std::string& target) {
  const auto slash = target.find('/');
  if (slash == std::string::npos) return "";
  const std::string folder = target.substr(0, slash);
  return LayerOfFolder().count(folder) ? folder : "";
}

TEST(LayeringTest, TheSourcesAreWhereTheTestLooks) {
  ASSERT_TRUE(fs::is_directory(kRoot / "framework/src/store")) << kRoot;
  // The checks below would pass vacuously if the pattern matched nothing.
  EXPECT_GT(QuotedIncludes(kRoot / "framework/src/store").size(), 20u);
}

TEST(LayeringTest, NoLayerIncludesAnotherLayersPrivateHeaders) {
  std::vector<std::string> crossings;
  for (const auto& [folder, layer] : LayerOfFolder()) {
    for (const Include& include : QuotedIncludes(kRoot / "framework/src" / folder)) {
      const std::string other = PrivateFolder(include.target);
      if (!other.empty() && LayerOfFolder().at(other) != layer) {
        crossings.push_back(Where(include) + " (layer " + layer + " reaching into " +
                            LayerOfFolder().at(other) + ")");
      }
    }
  }
  EXPECT_TRUE(crossings.empty()) << ::testing::PrintToString(crossings);
}

TEST(LayeringTest, NothingOutsideTheFrameworkIncludesItsPrivateHeaders) {
  // Tests and fuzzers are white-box and may; the product may not.
  std::vector<std::string> crossings;
  for (const char* dir : {"apps", "base", "fhir-client", "rest-client", "feed-reader", "plugins",
                          "plugin-api", "benchmarks"}) {
    for (const Include& include : QuotedIncludes(kRoot / dir)) {
      if (!PrivateFolder(include.target).empty() &&
          !fs::exists(include.file.parent_path() / include.target)) {
        crossings.push_back(Where(include));
      }
    }
  }
  EXPECT_TRUE(crossings.empty()) << ::testing::PrintToString(crossings);
}

TEST(LayeringTest, TheLayersBelowTheFrameworkDoNotIncludeIt) {
  // base, the clients, the feed and the plugins are what the framework
  // builds on: none of them may use its headers.
  std::set<std::string> framework_headers;
  for (const auto& entry : fs::directory_iterator(kRoot / "framework/include/fhirsync")) {
    if (entry.is_regular_file()) {
      framework_headers.insert("fhirsync/" + entry.path().filename().string());
    }
  }
  ASSERT_GT(framework_headers.size(), 10u);
  std::vector<std::string> crossings;
  for (const char* dir : {"base", "fhir-client", "rest-client", "feed-reader", "plugins",
                          "plugin-api"}) {
    for (const Include& include : QuotedIncludes(kRoot / dir)) {
      if (framework_headers.count(include.target)) crossings.push_back(Where(include));
    }
  }
  EXPECT_TRUE(crossings.empty()) << ::testing::PrintToString(crossings);
}

}  // namespace
}  // namespace fhirsync
