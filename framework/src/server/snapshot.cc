// The snapshot writer (fhirsync/snapshot.h): the watermark first, then each
// type scanned by id in keyset pages, streamed into NDJSON files whose
// SHA-256 and size are computed as they are written.

#include "fhirsync/snapshot.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "fhirsync/base/text_util.h"
#include "fhirsync/resource.h"
#include "server/feed_position.h"

namespace fhirsync {

namespace {

Status IoError(const std::string& path, const std::string& what) {
  return UnavailableError(path + ": " + what + ": " + std::strerror(errno));
}

Status WriteAll(int fd, const std::string& path, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError(path, "write failed");
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

// A file created private (0600) and written through a descriptor.
class PrivateOut {
 public:
  ~PrivateOut() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Create(const std::string& path) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0) return IoError(path, "cannot create");
    return Status::Ok();
  }
  Status Write(const char* data, std::size_t size) { return WriteAll(fd_, path_, data, size); }
  Status Close() {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return IoError(path_, "write failed");
    return Status::Ok();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// gzip (RFC 1952) written as the bytes come, through zlib.
class GzipOut {
 public:
  ~GzipOut() {
    if (started_) deflateEnd(&z_);
  }
  Status Create(const std::string& path) {
    FHIRSYNC_RETURN_IF_ERROR(out_.Create(path));
    std::memset(&z_, 0, sizeof z_);
    // 15 + 16: a gzip header and trailer around the deflate stream.
    if (deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
      return InternalError("zlib: cannot start a gzip stream");
    }
    started_ = true;
    return Status::Ok();
  }
  Status Write(std::string_view data) { return Deflate(data, Z_NO_FLUSH); }
  Status Close() {
    FHIRSYNC_RETURN_IF_ERROR(Deflate({}, Z_FINISH));
    return out_.Close();
  }

 private:
  Status Deflate(std::string_view data, int flush) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z_.avail_in = static_cast<uInt>(data.size());
    char buffer[64 * 1024];
    for (;;) {
      z_.next_out = reinterpret_cast<Bytef*>(buffer);
      z_.avail_out = sizeof buffer;
      const int rc = deflate(&z_, flush);
      if (rc == Z_STREAM_ERROR) return InternalError("zlib: gzip stream error");
      const std::size_t produced = sizeof buffer - z_.avail_out;
      FHIRSYNC_RETURN_IF_ERROR(out_.Write(buffer, produced));
      if (flush == Z_FINISH ? rc == Z_STREAM_END : z_.avail_out != 0) return Status::Ok();
    }
  }

  PrivateOut out_;
  z_stream z_;
  bool started_ = false;
};

// SHA-256 over bytes as they come (OpenSSL EVP), and their count.
class StreamingSha256 {
 public:
  StreamingSha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~StreamingSha256() { EVP_MD_CTX_free(ctx_); }
  StreamingSha256(const StreamingSha256&) = delete;
  StreamingSha256& operator=(const StreamingSha256&) = delete;
  void Update(std::string_view data) {
    EVP_DigestUpdate(ctx_, data.data(), data.size());
    bytes_ += static_cast<std::int64_t>(data.size());
  }
  std::string FinishHex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx_, digest, &length);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
      hex += kHex[digest[i] >> 4];
      hex += kHex[digest[i] & 15];
    }
    return hex;
  }
  std::int64_t bytes() const { return bytes_; }

 private:
  EVP_MD_CTX* ctx_;
  std::int64_t bytes_ = 0;
};

// One output file being written: its manifest entry and its digest.
struct FileInProgress {
  BulkOutputFile entry;
  StreamingSha256 sha;
};

}  // namespace

// ---- FolderSnapshotSink ----

struct FolderSnapshotSink::Open {
  PrivateOut plain;
  std::unique_ptr<GzipOut> gzip;
};

FolderSnapshotSink::FolderSnapshotSink(Options options) : options_(std::move(options)) {}
FolderSnapshotSink::~FolderSnapshotSink() = default;

std::string FolderSnapshotSink::FileName(const std::string& type, int part) {
  return type + "-" + std::to_string(part) + ".ndjson";
}

StatusOr<std::string> FolderSnapshotSink::Begin(const std::string& type, int index, int part) {
  if (open_) return FailedPreconditionError("snapshot sink: a file is still open");
  const std::string name = FileName(type, part);
  auto open = std::make_unique<Open>();
  FHIRSYNC_RETURN_IF_ERROR(open->plain.Create(options_.dir + "/" + name));
  if (options_.gzip_copy) {
    open->gzip = std::make_unique<GzipOut>();
    FHIRSYNC_RETURN_IF_ERROR(open->gzip->Create(options_.dir + "/" + name + ".gz"));
  }
  open_ = std::move(open);
  names_.push_back(name);
  return options_.url_of ? options_.url_of(index, name) : name;
}

Status FolderSnapshotSink::Append(std::string_view bytes) {
  if (!open_) return FailedPreconditionError("snapshot sink: no file is open");
  FHIRSYNC_RETURN_IF_ERROR(open_->plain.Write(bytes.data(), bytes.size()));
  if (open_->gzip) FHIRSYNC_RETURN_IF_ERROR(open_->gzip->Write(bytes));
  return Status::Ok();
}

Status FolderSnapshotSink::End() {
  if (!open_) return FailedPreconditionError("snapshot sink: no file is open");
  std::unique_ptr<Open> open = std::move(open_);
  FHIRSYNC_RETURN_IF_ERROR(open->plain.Close());
  if (open->gzip) FHIRSYNC_RETURN_IF_ERROR(open->gzip->Close());
  return Status::Ok();
}

// ---- WriteSnapshot ----

StatusOr<BulkManifest> WriteSnapshot(LocalStore& store, const SnapshotOptions& options,
                                     SnapshotSink& sink) {
  if (options.resources_per_file < 1 || options.scan_page < 1 || options.feed_page_size < 1) {
    return InvalidArgumentError(
        "snapshot: resources per file, scan page and feed page size must be at least 1");
  }
  for (const std::string& type : options.types) {
    if (!ValidateResourceType(type).ok()) {
      return InvalidArgumentError("snapshot: '" + EscapeForMessage(type) +
                                  "' is not a FHIR resource type");
    }
  }

  // The watermark first: everything read after it is at least as new.
  BulkManifest manifest;
  FHIRSYNC_ASSIGN_OR_RETURN(const std::int64_t watermark, store.LastSeq());
  manifest.transaction_time = FormatInstant(NowMillis());
  manifest.request = options.request;
  manifest.requires_access_token = options.requires_access_token;
  manifest.has_fhirsync = true;
  manifest.fhirsync.node_id = options.node_id;
  manifest.fhirsync.watermark_seq = watermark;
  const std::set<std::string> asked(options.types.begin(), options.types.end());
  if (watermark > 0) {
    // As the feed writes the `via` link of the page holding W, for a child
    // that asks the feed for these same types.
    manifest.fhirsync.atom_page_url = server::PageUrl(
        options.base_url, std::to_string(server::FeedPageOf(watermark, options.feed_page_size)),
        server::FeedTypesQuery(asked));
    manifest.fhirsync.atom_entry_id = server::EntryId(options.node_id, watermark);
  }

  FHIRSYNC_ASSIGN_OR_RETURN(StoreStats stats, store.Stats());
  std::vector<std::string> types;
  SnapshotProgress progress;
  progress.watermark_seq = watermark;
  for (const TypeCount& count : stats.types) {
    const bool wanted = asked.empty() ? ValidateResourceType(count.type).ok()
                                      : asked.count(count.type) > 0;
    if (wanted && count.live > 0) {
      types.push_back(count.type);
      progress.expected += count.live;
    }
  }
  if (options.on_progress) FHIRSYNC_RETURN_IF_ERROR(options.on_progress(progress));

  int index = 0;
  std::unique_ptr<FileInProgress> file;
  auto end_file = [&]() -> Status {
    FHIRSYNC_RETURN_IF_ERROR(sink.End());
    file->entry.sha256 = file->sha.FinishHex();
    file->entry.bytes = file->sha.bytes();
    manifest.output.push_back(std::move(file->entry));
    file.reset();
    return Status::Ok();
  };
  std::string line;
  for (const std::string& type : types) {
    progress.type = type;
    int part = 0;
    SearchQuery page;
    page.type = type;
    page.updated_from_ms = options.since_ms;
    page.limit = options.scan_page;
    page.with_total = false;
    for (;;) {
      FHIRSYNC_ASSIGN_OR_RETURN(SearchResult found, store.Search(page));
      for (const Resource& resource : found.resources) {
        if (resource.deleted || resource.format != ResourceFormat::kFhirJson) continue;
        if (!file) {
          file = std::make_unique<FileInProgress>();
          file->entry.type = type;
          file->entry.count = 0;
          FHIRSYNC_ASSIGN_OR_RETURN(file->entry.url, sink.Begin(type, ++index, ++part));
        }
        // The stored body carries meta.versionId (the version a child
        // records as the parent's) and is sent as a GET sends it. A line
        // break inside JSON can only be whitespace, so one that came in a
        // body becomes a space and the line stays one resource.
        line.assign(resource.body);
        std::replace_if(line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r'; },
                        ' ');
        line += '\n';
        FHIRSYNC_RETURN_IF_ERROR(sink.Append(line));
        file->sha.Update(line);
        ++file->entry.count;
        ++progress.written;
        if (file->entry.count >= options.resources_per_file) FHIRSYNC_RETURN_IF_ERROR(end_file());
      }
      if (options.on_progress) FHIRSYNC_RETURN_IF_ERROR(options.on_progress(progress));
      if (static_cast<std::int64_t>(found.resources.size()) < page.limit) break;
      page.after_id = found.resources.back().id;
    }
    if (file) FHIRSYNC_RETURN_IF_ERROR(end_file());
  }
  return manifest;
}

}  // namespace fhirsync
