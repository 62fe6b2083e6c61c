// ReadClientPool: FHIR clients for reads in flight at the same time.
//
// A FhirClient serialises its calls on one keep-alive connection, so the
// pull's requests in flight (pull.in_flight) would queue behind each other
// on the plugin's one client. Reads (Read, ReadMany) instead take a client
// of their own from this pool: an idle one, or a new one up to `max`
// (option `read_connections`, default 4), else they wait for one.
//
// Thread safety: Acquire() may be called from any thread; a lease is used
// by one thread and returns its client when destroyed.

#ifndef FHIRSYNC_PLUGINS_FHIR_READ_CLIENT_POOL_H_
#define FHIRSYNC_PLUGINS_FHIR_READ_CLIENT_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "fhirsync/fhir/fhir_client.h"

namespace fhirsync::fhirplugin {

class ReadClientPool {
 public:
  class Lease {
   public:
    Lease(ReadClientPool* pool, std::unique_ptr<fhir::FhirClient> client)
        : pool_(pool), client_(std::move(client)) {}
    ~Lease() { pool_->Release(std::move(client_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    fhir::FhirClient* operator->() const { return client_.get(); }

   private:
    ReadClientPool* pool_;
    std::unique_ptr<fhir::FhirClient> client_;
  };

  ReadClientPool(fhir::FhirClientOptions options, std::size_t max)
      : options_(std::move(options)), max_(max == 0 ? 1 : max) {}

  Lease Acquire();

 private:
  void Release(std::unique_ptr<fhir::FhirClient> client);

  const fhir::FhirClientOptions options_;
  const std::size_t max_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<fhir::FhirClient>> idle_;
  std::size_t made_ = 0;
};

}  // namespace fhirsync::fhirplugin

#endif  // FHIRSYNC_PLUGINS_FHIR_READ_CLIENT_POOL_H_
