#include "fhirsync/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fhirsync {

namespace {

Status Failed(const std::string& path, const std::string& what) {
  return UnavailableError(path + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

Status WritePrivateFile(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  // O_TRUNC on a leftover temporary file keeps its old mode, so it is made
  // private explicitly as well.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Failed(tmp, "cannot write");
  Status status;
  if (::fchmod(fd, 0600) != 0) status = Failed(tmp, "cannot make it private");
  std::size_t written = 0;
  while (status.ok() && written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status = Failed(tmp, "write failed");
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  if (status.ok() && ::fsync(fd) != 0) status = Failed(tmp, "cannot sync");
  if (::close(fd) != 0 && status.ok()) status = Failed(tmp, "write failed");
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = Failed(path, "cannot replace");
  }
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

Status CreatePrivateFileIfAbsent(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Ok();
    return Failed(path, "cannot create");
  }
  Status status;
  // The umask may have taken bits away, never added them; fchmod makes the
  // mode exact either way.
  if (::fchmod(fd, 0600) != 0) status = Failed(path, "cannot make it private");
  ::close(fd);
  return status;
}

}  // namespace fhirsync
