#include "atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace fhirsync::folder {
namespace {

Status SystemError(const std::string& what, const std::string& path) {
  return UnavailableError(path + ": " + what + ": " + std::strerror(errno));
}

// A temporary name no other thread or process uses at the same time.
std::string TempName(const std::string& name) {
  static std::atomic<unsigned> counter{0};
  return std::string(kTempPrefix) + std::to_string(getpid()) + "-" +
         std::to_string(counter.fetch_add(1)) + "-" + name;
}

}  // namespace

Status WriteFileAtomically(const std::string& dir, const std::string& name,
                           std::string_view data) {
  std::string temp_path = dir + "/" + TempName(name);
  std::string final_path = dir + "/" + name;
  int fd = open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return SystemError("cannot create", temp_path);
  Status status;
  std::size_t written = 0;
  while (written < data.size() && status.ok()) {
    ssize_t n = write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = SystemError("cannot write", temp_path);
    } else {
      written += static_cast<std::size_t>(n);
    }
  }
  if (status.ok() && fsync(fd) != 0) status = SystemError("cannot flush", temp_path);
  if (close(fd) != 0 && status.ok()) status = SystemError("cannot close", temp_path);
  if (status.ok() && rename(temp_path.c_str(), final_path.c_str()) != 0) {
    status = SystemError("cannot rename into place", final_path);
  }
  if (!status.ok()) {
    unlink(temp_path.c_str());
    return status;
  }
  // Make the rename durable: without this a crash can forget the new name.
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return SystemError("cannot open folder to flush it", dir);
  // Some filesystems (vfat on old kernels) refuse fsync on a folder; the
  // file itself is already durable then, so EINVAL is not an error.
  if (fsync(dir_fd) != 0 && errno != EINVAL) {
    status = SystemError("cannot flush folder", dir);
  }
  close(dir_fd);
  return status;
}

StatusOr<std::string> ReadFileBounded(const std::string& path, std::size_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFoundError(path + ": no such file");
    return SystemError("cannot open", path);
  }
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    Status status = SystemError("cannot stat", path);
    close(fd);
    return status;
  }
  if (static_cast<std::size_t>(info.st_size) > max_bytes) {
    close(fd);
    return ResourceExhaustedError(path + ": " + std::to_string(info.st_size) +
                                  " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  std::string out;
  char buffer[64 * 1024];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status status = SystemError("cannot read", path);
      close(fd);
      return status;
    }
    if (n == 0) break;
    // The file may grow after fstat; the cap holds regardless.
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      close(fd);
      return ResourceExhaustedError(path + ": more than the limit of " +
                                    std::to_string(max_bytes) + " bytes");
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace fhirsync::folder
