#include "line_reader.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace fhirsync::cli {
namespace {

std::string WriteFile(const testing::TempDir& dir, const std::string& text) {
  std::string path = dir.Sub("lines.txt");
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(LineReaderTest, ReadsLinesWithNumbersAndLineEnds) {
  testing::TempDir dir("fhirsync-lines");
  LineReader reader(100);
  ASSERT_TRUE(reader.Open(WriteFile(dir, "one\r\n\ntwo\nthree")).ok());
  LineReader::Line line;
  std::vector<std::pair<std::int64_t, std::string>> got;
  while (reader.Next(&line)) got.emplace_back(line.number, line.text);
  ASSERT_TRUE(reader.error().ok());
  EXPECT_EQ(got, (std::vector<std::pair<std::int64_t, std::string>>{
                     {1, "one"}, {2, ""}, {3, "two"}, {4, "three"}}));
}

TEST(LineReaderTest, OversizeLineIsFlaggedAndSkippedToItsEnd) {
  testing::TempDir dir("fhirsync-lines");
  LineReader reader(5);
  ASSERT_TRUE(reader.Open(WriteFile(dir, "short\n" + std::string(3 << 20, 'x') + "\nok\n")).ok());
  LineReader::Line line;
  ASSERT_TRUE(reader.Next(&line));
  EXPECT_EQ(line.text, "short");
  EXPECT_FALSE(line.oversize);
  ASSERT_TRUE(reader.Next(&line));
  EXPECT_TRUE(line.oversize);
  EXPECT_EQ(line.length, std::size_t{3} << 20);
  EXPECT_TRUE(line.text.empty());
  ASSERT_TRUE(reader.Next(&line));
  EXPECT_EQ(line.number, 3);
  EXPECT_EQ(line.text, "ok");
  EXPECT_FALSE(reader.Next(&line));
}

TEST(LineReaderTest, MissingFileIsNamed) {
  LineReader reader(5);
  Status s = reader.Open("/nonexistent/x.ndjson");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("/nonexistent/x.ndjson: cannot open"), std::string::npos) << s;
}

}  // namespace
}  // namespace fhirsync::cli
