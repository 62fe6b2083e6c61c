// How the Poco::Data backends turn values into SQL parameters and back
// (internal header), shared by every part of PocoLocalStore.

#ifndef FHIRSYNC_STORE_SQL_VALUES_H_
#define FHIRSYNC_STORE_SQL_VALUES_H_

#include <string>
#include <vector>

#include "fhirsync/resource.h"

namespace fhirsync::store {

// A JSON array of strings, bound as ONE parameter to list filters (the SQL
// expands it with json_each / json_array_elements_text), so no value is ever
// spliced into SQL text.
std::string JsonStringArray(const std::vector<std::string>& values);

// The inverse of ChangeActionName(): "CREATED", "DELETED", else an update.
ChangeAction ChangeActionFromName(const std::string& name);

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_SQL_VALUES_H_
