// PocoLocalStore: the monitoring counts (see StoreFigures in local_store.h).

#include <Poco/Data/Statement.h>

#include "store/poco_local_store.h"

namespace fhirsync::store {

using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;

namespace {

// The same on both backends.
constexpr char kOutboxCounts[] =
    "SELECT state, coalesce(outcome, ''), count(*) FROM outbox GROUP BY state, outcome"
    " ORDER BY state, outcome";
constexpr char kOpenConflicts[] = "SELECT count(*) FROM conflicts WHERE status = 'open'";

}  // namespace

StatusOr<StoreFigures> PocoLocalStore::Figures() {
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    std::vector<std::string> states;
    std::vector<std::string> outcomes;
    std::vector<Poco::Int64> counts;
    Poco::Int64 open_conflicts = 0;
    Poco::Int64 size = 0;
    // One read transaction, so the counts agree with each other.
    lease.session().begin();
    lease.session() << kOutboxCounts, into(states), into(outcomes), into(counts), now;
    lease.session() << kOpenConflicts, into(open_conflicts), now;
    lease.session() << sql_.store_size, into(size), now;
    lease.session().commit();
    StoreFigures figures;
    for (std::size_t i = 0; i < states.size(); ++i) {
      figures.outbox.push_back(OutboxCount{std::move(states[i]), std::move(outcomes[i]), counts[i]});
    }
    figures.open_conflicts = open_conflicts;
    figures.size_bytes = size;
    return figures;
  } catch (const Poco::Exception& error) {
    try {
      if (lease.session().isTransaction()) lease.session().rollback();
    } catch (const Poco::Exception&) {
      // Nothing was written in this read transaction.
    }
    return TranslateException(error, "count the store's figures");
  }
}

}  // namespace fhirsync::store
