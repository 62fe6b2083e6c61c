#include "line_reader.h"

#include <cerrno>
#include <cstring>

namespace fhirsync::cli {
namespace {
constexpr std::size_t kChunkBytes = 1 << 20;
}  // namespace

LineReader::~LineReader() {
  if (file_ != nullptr) std::fclose(file_);
}

Status LineReader::Open(const std::string& path) {
  path_ = path;
  file_ = std::fopen(path.c_str(), "rb");
  if (file_ == nullptr) return NotFoundError(path + ": cannot open: " + std::strerror(errno));
  return Status::Ok();
}

bool LineReader::Fill() {
  if (eof_ || file_ == nullptr) return false;
  buffer_.erase(0, pos_);
  pos_ = 0;
  std::size_t old_size = buffer_.size();
  buffer_.resize(old_size + kChunkBytes);
  std::size_t n = std::fread(buffer_.data() + old_size, 1, kChunkBytes, file_);
  buffer_.resize(old_size + n);
  bytes_read_ += n;
  if (n == 0) {
    eof_ = true;
    if (std::ferror(file_)) error_ = UnavailableError(path_ + ": read failed");
    return false;
  }
  return true;
}

bool LineReader::Next(Line* line) {
  line->text.clear();
  line->oversize = false;
  line->length = 0;
  bool any = false;
  while (true) {
    std::size_t nl = buffer_.find('\n', pos_);
    std::size_t end = nl == std::string::npos ? buffer_.size() : nl;
    std::size_t piece = end - pos_;
    if (piece > 0) any = true;
    line->length += piece;
    // Past the cap the text is dropped but the line is still read to its
    // end, so the next line starts in the right place.
    if (!line->oversize) {
      if (line->length > max_line_bytes_) {
        line->oversize = true;
        line->text.clear();
        line->text.shrink_to_fit();
      } else {
        line->text.append(buffer_, pos_, piece);
      }
    }
    if (nl != std::string::npos) {
      pos_ = nl + 1;
      any = true;
      break;
    }
    pos_ = buffer_.size();
    if (!Fill()) break;
  }
  if (!any) return false;
  if (!line->text.empty() && line->text.back() == '\r') line->text.pop_back();
  line->number = ++line_number_;
  return true;
}

}  // namespace fhirsync::cli
