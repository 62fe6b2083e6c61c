// LineReader: reads a text file one line at a time with a cap on line
// length, so an NDJSON file of any size (or a hostile one without newlines)
// never sits in memory whole.
//
// Thread safety: one reader per thread.

#ifndef FHIRSYNC_APPS_FHIRSYNC_LINE_READER_H_
#define FHIRSYNC_APPS_FHIRSYNC_LINE_READER_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "fhirsync/status.h"

namespace fhirsync::cli {

class LineReader {
 public:
  // `max_line_bytes`: longer lines are reported as oversize (their text is
  // not kept).
  explicit LineReader(std::size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // NotFound naming the file (and the reason) when it cannot be opened.
  Status Open(const std::string& path);

  struct Line {
    std::int64_t number = 0;  // 1-based
    std::string text;         // without the line end ("\n" or "\r\n")
    bool oversize = false;    // longer than the cap; `text` is empty
    std::size_t length = 0;   // bytes in the line (counted up to the end)
  };
  // Reads the next line into `line`. Returns false at the end of the file or
  // on a read error (then error() is not OK).
  bool Next(Line* line);
  const Status& error() const { return error_; }
  // Bytes consumed so far (for progress display).
  std::uint64_t bytes_read() const { return bytes_read_; }

 private:
  bool Fill();

  std::size_t max_line_bytes_;
  std::string path_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
  std::size_t pos_ = 0;
  bool eof_ = false;
  std::int64_t line_number_ = 0;
  std::uint64_t bytes_read_ = 0;
  Status error_;
};

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_LINE_READER_H_
