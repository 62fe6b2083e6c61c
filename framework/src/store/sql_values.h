// How the Poco::Data backends turn values into SQL parameters and back
// (internal header), shared by every part of PocoLocalStore.

#ifndef FHIRSYNC_STORE_SQL_VALUES_H_
#define FHIRSYNC_STORE_SQL_VALUES_H_

#include <Poco/Types.h>

#include <string>
#include <vector>

#include "fhirsync/local_store.h"
#include "fhirsync/resource.h"

namespace fhirsync::store {

// A JSON array of strings, bound as ONE parameter to list filters (the SQL
// expands it with json_each / json_array_elements_text), so no value is ever
// spliced into SQL text.
std::string JsonStringArray(const std::vector<std::string>& values);

// The inverse of ChangeActionName(): "CREATED", "DELETED", else an update.
ChangeAction ChangeActionFromName(const std::string& name);

// The sync_state rows to write, as column vectors bound to one statement
// (the pull's page and the push's round both upsert many at once).
struct AgreementColumns {
  std::vector<std::string> type;
  std::vector<std::string> id;
  std::vector<std::string> remote_version;
  std::vector<std::string> content_hash;
  std::vector<Poco::Int64> local_version;
  std::vector<Poco::Int64> agreed_ms;

  void Add(const SyncState& state) {
    type.push_back(state.type);
    id.push_back(state.id);
    remote_version.push_back(state.remote_version);
    content_hash.push_back(state.content_hash);
    local_version.push_back(state.local_version);
    agreed_ms.push_back(state.agreed_ms);
  }
};

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_SQL_VALUES_H_
