// An in-memory LocalStore for the server's unit tests. It keeps the
// interface's promises that the server relies on (all-or-nothing Write,
// expected_version -> Aborted, no-op puts, tombstones, dense seqs in commit
// order, FHIR bodies stamped and OpenMRS REST bodies kept as the real store
// does) and nothing more; the end-to-end tests run against the real SQLite
// store.

#ifndef FHIRSYNC_TESTS_SERVER_FAKE_STORE_H_
#define FHIRSYNC_TESTS_SERVER_FAKE_STORE_H_

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "fhirsync/local_store.h"

namespace fhirsync::testing {

class FakeStore : public LocalStore {
 public:
  StatusOr<std::vector<WriteResult>> Write(std::span<const WriteOp> ops,
                                           const WriteOptions& options) override;
  StatusOr<ImportSummary> Import(std::span<const WriteOp> ops, const WriteOptions& options,
                                 std::size_t batch_size) override;
  StatusOr<Resource> Get(const std::string& type, const std::string& id) override;
  StatusOr<Resource> GetVersion(const std::string& type, const std::string& id,
                                std::int64_t version) override;
  StatusOr<std::vector<Resource>> History(const std::string& type,
                                          const std::string& id) override;
  StatusOr<std::vector<Change>> Changes(const ChangeQuery& query) override;
  StatusOr<std::int64_t> LastSeq() override;
  StatusOr<SearchResult> Search(const SearchQuery& query) override;
  StatusOr<StoreStats> Stats() override;
  StatusOr<std::vector<OutboxItem>> PendingOutbox(std::int64_t limit) override;

  int write_calls() const { return write_calls_; }
  // Get() calls so far: what a handler read from the store.
  int get_calls() {
    std::lock_guard<std::mutex> lock(mutex_);
    return get_calls_;
  }

 private:
  struct State {
    std::map<std::string, std::vector<Resource>> versions;  // key -> oldest first
    std::vector<Change> changes;
  };
  std::mutex mutex_;
  State state_;
  int write_calls_ = 0;
  int get_calls_ = 0;
};

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SERVER_FAKE_STORE_H_
