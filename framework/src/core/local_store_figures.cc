// Default of the monitoring section of LocalStore (see local_store.h).

#include "fhirsync/local_store.h"

namespace fhirsync {

StatusOr<StoreFigures> LocalStore::Figures() {
  return UnimplementedError("this store does not count its figures");
}

}  // namespace fhirsync
