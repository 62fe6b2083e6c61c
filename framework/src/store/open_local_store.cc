// OpenLocalStore(): picks the backend a node's configuration names.

#include <filesystem>
#include <system_error>

#include "fhirsync/base/text_util.h"
#include "fhirsync/local_store.h"
#include "store/postgres_local_store.h"
#include "store/sqlite_local_store.h"

namespace fhirsync {

StatusOr<std::unique_ptr<LocalStore>> OpenLocalStore(const StoreConfig& config,
                                                     const std::string& node_dir,
                                                     const std::string& node_id) {
  if (config.max_body_bytes == 0) {
    return InvalidArgumentError("store.max_body_bytes must be greater than 0");
  }
  if (config.backend == "sqlite") {
    if (config.path.empty()) return InvalidArgumentError("store.path is empty");
    std::filesystem::path path(config.path);
    if (path.is_relative() && !node_dir.empty()) path = std::filesystem::path(node_dir) / path;
    std::error_code error;
    if (path.has_parent_path() && !std::filesystem::is_directory(path.parent_path(), error)) {
      return InvalidArgumentError("store.path: folder '" +
                                  EscapeForMessage(path.parent_path().string(), 200) +
                                  "' does not exist");
    }
    return store::OpenSqliteLocalStore(path.string(), node_id, config.max_body_bytes);
  }
  if (config.backend == "postgresql") {
    if (config.connection.empty()) {
      return InvalidArgumentError(
          "store.connection is empty; the postgresql backend needs a libpq connection string");
    }
    return store::OpenPostgresLocalStore(config.connection, node_id, config.max_body_bytes);
  }
  return InvalidArgumentError("store.backend '" + EscapeForMessage(config.backend) +
                              "' is not known (expected sqlite or postgresql)");
}

}  // namespace fhirsync
