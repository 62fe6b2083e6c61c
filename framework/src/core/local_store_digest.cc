// Default of the verify section of LocalStore (see local_store.h).

#include "fhirsync/local_store.h"

namespace fhirsync {

StatusOr<std::vector<DigestEntry>> LocalStore::ScanDigest(const DigestScanQuery&) {
  return UnimplementedError("this store cannot scan digest ranges");
}

}  // namespace fhirsync
