#include "folder_transport.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "atomic_file.h"

namespace fhirsync::folder {
namespace {

namespace fs = std::filesystem;

constexpr char kFileScheme[] = "file://";
constexpr char kLockName[] = ".lock";

template <typename Result>
Result Failed(Status status) {
  Result result;
  result.status = std::move(status);
  return result;
}

bool ParseUnsigned(const std::string& text, std::uint64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return error == std::errc() && end == text.data() + text.size();
}

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Holds flock() on changes/.lock, so two processes writing the same stick
// never take the same sequence number.
class FolderLock {
 public:
  explicit FolderLock(const std::string& dir) {
    std::string path = dir + "/" + kLockName;
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      status_ = UnavailableError(path + ": cannot open lock file: " + std::strerror(errno));
      return;
    }
    while (flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      status_ = UnavailableError(path + ": cannot lock: " + std::strerror(errno));
      return;
    }
  }
  ~FolderLock() {
    if (fd_ >= 0) close(fd_);  // releases the lock
  }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;
  const Status& status() const { return status_; }

 private:
  int fd_ = -1;
  Status status_;
};

}  // namespace

Status FolderTransport::Configure(const TransportSettings& settings) {
  std::string dir;
  if (auto it = settings.options.find("dir"); it != settings.options.end()) {
    dir = it->second;
  } else if (settings.base_url.rfind(kFileScheme, 0) == 0) {
    dir = settings.base_url.substr(std::strlen(kFileScheme));
  } else if (settings.base_url.empty()) {
    return InvalidArgumentError(
        "the folder transport needs a folder: set options.dir or a file:// parent url");
  } else {
    return InvalidArgumentError("the folder transport needs a folder, not '" + settings.base_url +
                                "': set options.dir or a file:// parent url");
  }
  if (dir.empty()) return InvalidArgumentError("options.dir is empty");
  if (auto it = settings.options.find("priority"); it != settings.options.end()) {
    const std::string& text = it->second;
    int value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) {
      return InvalidArgumentError("options.priority: expected an integer, got '" + text + "'");
    }
    priority_ = value;
  }
  if (auto it = settings.options.find("max_body_bytes"); it != settings.options.end()) {
    std::uint64_t value = 0;
    if (!ParseUnsigned(it->second, &value) || value == 0) {
      return InvalidArgumentError("options.max_body_bytes: expected a positive integer, got '" +
                                  it->second + "'");
    }
    max_body_bytes_ = static_cast<std::size_t>(value);
  }

  // Never create the folder itself: if the stick is not mounted, writing
  // into the empty mount point would lose the changes when it is.
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return UnavailableError("folder " + dir + " does not exist (is the stick mounted?)");
  }
  changes_dir_ = (fs::path(dir) / "changes").string();
  fs::create_directory(changes_dir_, ec);
  if (ec) {
    return UnavailableError(changes_dir_ + ": cannot create: " + ec.message());
  }
  // Temporary files are left only by a writer that died; none is writing
  // while we hold the lock.
  FolderLock lock(changes_dir_);
  if (!lock.status().ok()) return lock.status();
  for (const auto& entry : fs::directory_iterator(changes_dir_, ec)) {
    if (entry.path().filename().string().rfind(kTempPrefix, 0) == 0) {
      std::error_code ignored;  // a file we cannot remove is skipped by readers anyway
      fs::remove(entry.path(), ignored);
    }
  }
  if (ec) return UnavailableError(changes_dir_ + ": cannot list: " + ec.message());
  return Status();
}

TransportCapabilities FolderTransport::GetCapabilities() const {
  TransportCapabilities caps;
  caps.resource_types = {kAnyResourceType};
  // Every operation but `export`: a folder of changes holds no snapshot.
  for (TransportOperation op : kAllTransportOperations) {
    if (op != TransportOperation::kExport) caps.operations.push_back(op);
  }
  caps.formats = {ResourceFormat::kFhirJson, ResourceFormat::kOpenmrsRest};
  caps.priority = priority_;
  caps.auth_schemes = {"none"};
  return caps;
}

StatusOr<std::vector<ChangeFileName>> FolderTransport::ListChanges() const {
  if (changes_dir_.empty()) {
    return FailedPreconditionError("the folder transport is not configured");
  }
  std::vector<ChangeFileName> changes;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(changes_dir_, ec)) {
    if (auto change = ParseChangeFileName(entry.path().filename().string())) {
      changes.push_back(std::move(*change));
    }
  }
  if (ec) {
    return UnavailableError(changes_dir_ + ": cannot list (was the stick removed?): " +
                            ec.message());
  }
  std::sort(changes.begin(), changes.end(),
            [](const ChangeFileName& a, const ChangeFileName& b) { return a.sequence < b.sequence; });
  return changes;
}

std::optional<ChangeFileName> FolderTransport::Latest(const std::vector<ChangeFileName>& changes,
                                                      const std::string& type,
                                                      const std::string& id) {
  for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
    if (it->type == type && it->id == id) return *it;
  }
  return std::nullopt;
}

ReadResult FolderTransport::ReadOne(const std::vector<ChangeFileName>& changes,
                                    const std::string& type, const std::string& id) const {
  ReadResult result;
  std::optional<ChangeFileName> latest = Latest(changes, type, id);
  if (!latest) {
    result.status = NotFoundError(type + "/" + id + " is not in the folder");
    return result;
  }
  result.resource.type = type;
  result.resource.id = id;
  result.resource.version = std::to_string(latest->version);
  result.resource.last_updated_ms = latest->at_ms;
  result.resource.format = latest->format;
  result.resource.deleted = latest->action == ChangeAction::kDelete;
  if (!result.resource.deleted) {
    StatusOr<std::string> body =
        ReadFileBounded(changes_dir_ + "/" + FormatChangeFileName(*latest), max_body_bytes_);
    if (body.ok()) {
      result.resource.body = std::move(body).value();
    } else {
      result.status = body.status();
    }
  }
  return result;
}

ReadResult FolderTransport::Read(const std::string& type, const std::string& id) {
  if (Status s = CheckTypeAndId(type, id); !s.ok()) return Failed<ReadResult>(s);
  StatusOr<std::vector<ChangeFileName>> changes = ListChanges();
  if (!changes.ok()) return Failed<ReadResult>(changes.status());
  return ReadOne(*changes, type, id);
}

ReadManyResult FolderTransport::ReadMany(const std::string& type,
                                         const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    if (Status s = CheckTypeAndId(type, id); !s.ok()) return Failed<ReadManyResult>(s);
  }
  StatusOr<std::vector<ChangeFileName>> changes = ListChanges();
  if (!changes.ok()) return Failed<ReadManyResult>(changes.status());
  ReadManyResult result;
  for (const std::string& id : ids) result.items.push_back(ReadOne(*changes, type, id));
  return result;
}

RemoteWriteResult FolderTransport::Create(const RemoteResource& resource) {
  return Write(WriteKind::kCreate, resource, "");
}

RemoteWriteResult FolderTransport::Update(const RemoteResource& resource,
                                    const std::string& expected_version) {
  return Write(WriteKind::kUpdate, resource, expected_version);
}

RemoteWriteResult FolderTransport::Delete(const std::string& type, const std::string& id,
                                    const std::string& expected_version) {
  RemoteResource tombstone;
  tombstone.type = type;
  tombstone.id = id;
  tombstone.deleted = true;
  return Write(WriteKind::kDelete, tombstone, expected_version);
}

RemoteWriteResult FolderTransport::Write(WriteKind kind, const RemoteResource& resource,
                                   const std::string& expected_version) {
  const std::string key = resource.type + "/" + resource.id;
  if (Status s = CheckTypeAndId(resource.type, resource.id); !s.ok()) {
    return Failed<RemoteWriteResult>(s);
  }
  if (kind != WriteKind::kDelete && resource.body.size() > max_body_bytes_) {
    return Failed<RemoteWriteResult>(
        ResourceExhaustedError(key + ": body of " + std::to_string(resource.body.size()) +
                               " bytes is over the limit of " + std::to_string(max_body_bytes_)));
  }
  std::lock_guard<std::mutex> guard(write_mutex_);
  if (changes_dir_.empty()) {
    return Failed<RemoteWriteResult>(
        FailedPreconditionError("the folder transport is not configured"));
  }
  FolderLock lock(changes_dir_);
  if (!lock.status().ok()) return Failed<RemoteWriteResult>(lock.status());
  StatusOr<std::vector<ChangeFileName>> listed = ListChanges();
  if (!listed.ok()) return Failed<RemoteWriteResult>(listed.status());
  const std::vector<ChangeFileName>& changes = *listed;

  std::optional<ChangeFileName> latest = Latest(changes, resource.type, resource.id);
  bool live = latest && latest->action != ChangeAction::kDelete;
  std::string current = latest ? std::to_string(latest->version) : "";
  if (kind == WriteKind::kCreate && live) {
    return Failed<RemoteWriteResult>(
        AlreadyExistsError(key + " already exists in the folder at version " + current));
  }
  if (kind == WriteKind::kDelete && !live) {
    return Failed<RemoteWriteResult>(NotFoundError(key + " is not in the folder"));
  }
  if (kind != WriteKind::kCreate && !expected_version.empty()) {
    if (!live) {
      return Failed<RemoteWriteResult>(NotFoundError(key + " is not in the folder"));
    }
    if (expected_version != current) {
      return Failed<RemoteWriteResult>(AbortedError(key + " is at version " + current +
                                                    " in the folder, not " + expected_version));
    }
  }

  ChangeFileName change;
  change.sequence = changes.empty() ? 1 : changes.back().sequence + 1;
  change.at_ms = NowMs();
  change.type = resource.type;
  change.id = resource.id;
  change.version = latest ? latest->version + 1 : 1;
  change.action = kind == WriteKind::kDelete ? ChangeAction::kDelete
                  : live                     ? ChangeAction::kUpdate
                                             : ChangeAction::kCreate;
  change.format = resource.format;
  std::string_view body = kind == WriteKind::kDelete ? std::string_view() : resource.body;
  if (Status s = WriteFileAtomically(changes_dir_, FormatChangeFileName(change), body); !s.ok()) {
    RemoteWriteResult result = Failed<RemoteWriteResult>(s);
    // When only the folder flush failed, the change is there but may not
    // survive a crash: the caller must read back before writing again.
    std::error_code ec;
    result.ambiguous = fs::exists(fs::path(changes_dir_) / FormatChangeFileName(change), ec);
    return result;
  }
  RemoteWriteResult result;
  result.version = std::to_string(change.version);
  result.last_updated_ms = change.at_ms;
  return result;
}

ChangePage FolderTransport::ReadChanges(const std::string& since, int max_entries) {
  std::uint64_t after = 0;
  if (!since.empty() && !ParseUnsigned(since, &after)) {
    return Failed<ChangePage>(InvalidArgumentError(
        "position '" + since.substr(0, 40) + "' is not one this folder made (expected a number)"));
  }
  if (max_entries <= 0) {
    return Failed<ChangePage>(
        InvalidArgumentError("max_entries must be positive, not " + std::to_string(max_entries)));
  }
  StatusOr<std::vector<ChangeFileName>> listed = ListChanges();
  if (!listed.ok()) return Failed<ChangePage>(listed.status());
  const std::vector<ChangeFileName>& changes = *listed;
  ChangePage page;
  page.next_position = since;
  auto it = std::upper_bound(changes.begin(), changes.end(), after,
                             [](std::uint64_t value, const ChangeFileName& change) {
                               return value < change.sequence;
                             });
  for (; it != changes.end(); ++it) {
    if (page.entries.size() == static_cast<std::size_t>(max_entries)) {
      page.more = true;
      break;
    }
    ChangeEntry entry;
    entry.position = std::to_string(it->sequence);
    entry.action = it->action;
    entry.resource.type = it->type;
    entry.resource.id = it->id;
    entry.resource.version = std::to_string(it->version);
    entry.resource.last_updated_ms = it->at_ms;
    entry.resource.format = it->format;
    entry.resource.deleted = it->action == ChangeAction::kDelete;
    // A body that cannot be read here (too large, unreadable) is left for
    // Read, whose error then names the file for that one resource instead of
    // stopping the whole feed.
    entry.has_body = entry.resource.deleted;
    if (!entry.resource.deleted) {
      StatusOr<std::string> body =
          ReadFileBounded(changes_dir_ + "/" + FormatChangeFileName(*it), max_body_bytes_);
      entry.has_body = body.ok();
      if (body.ok()) entry.resource.body = std::move(body).value();
    }
    page.next_position = entry.position;
    page.entries.push_back(std::move(entry));
  }
  return page;
}

}  // namespace fhirsync::folder
