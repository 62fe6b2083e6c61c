// FolderTransport: a transport plugin that exchanges changes as files in a
// folder, for sites that carry data between nodes on a USB stick.
//
// Layout: <folder>/changes/ holds one file per change (the resource body, or
// empty for a delete), named as change_file_name.h describes. Writing a
// change never touches an existing file, so a stick that is pulled mid-write
// loses at most the change being written, never an older one. The change
// feed is the sorted list of names; Read finds the newest change of a
// resource. Versions are the folder's own: 1, 2, 3... per resource.
//
// Settings (TransportSettings):
//   options["dir"]       the folder; else base_url as "file:///path"
//   options["priority"]  the routing priority (default 0)
//   options["max_body_bytes"]  largest body read back (default 16 MiB)
// The folder must exist (Configure says "is the stick mounted?" otherwise);
// changes/ is created inside it.
//
// Thread safety: all methods may be called concurrently. Writers are
// serialised by a mutex within the process and by flock() on
// changes/.lock between processes.

#ifndef FHIRSYNC_PLUGINS_EXAMPLE_FOLDER_TRANSPORT_H_
#define FHIRSYNC_PLUGINS_EXAMPLE_FOLDER_TRANSPORT_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "change_file_name.h"
#include "fhirsync/plugin/transport_plugin.h"

namespace fhirsync::folder {

class FolderTransport : public TransportPlugin {
 public:
  Status Configure(const TransportSettings& settings) override;
  TransportCapabilities GetCapabilities() const override;

  ReadResult Read(const std::string& type, const std::string& id) override;
  ReadManyResult ReadMany(const std::string& type, const std::vector<std::string>& ids) override;
  RemoteWriteResult Create(const RemoteResource& resource) override;
  RemoteWriteResult Update(const RemoteResource& resource, const std::string& expected_version) override;
  RemoteWriteResult Delete(const std::string& type, const std::string& id,
                     const std::string& expected_version) override;
  ChangePage ReadChanges(const std::string& since, int max_entries) override;

 private:
  enum class WriteKind { kCreate, kUpdate, kDelete };

  // The change files in feed order (unparseable names skipped).
  StatusOr<std::vector<ChangeFileName>> ListChanges() const;
  // The newest change of type/id in `changes`, if any.
  static std::optional<ChangeFileName> Latest(const std::vector<ChangeFileName>& changes,
                                              const std::string& type, const std::string& id);
  ReadResult ReadOne(const std::vector<ChangeFileName>& changes, const std::string& type,
                     const std::string& id) const;
  // Checks the guard against the current state and appends one change file.
  RemoteWriteResult Write(WriteKind kind, const RemoteResource& resource,
                    const std::string& expected_version);

  std::string changes_dir_;
  int priority_ = 0;
  std::size_t max_body_bytes_ = 16u * 1024u * 1024u;
  std::mutex write_mutex_;
};

}  // namespace fhirsync::folder

#endif  // FHIRSYNC_PLUGINS_EXAMPLE_FOLDER_TRANSPORT_H_
