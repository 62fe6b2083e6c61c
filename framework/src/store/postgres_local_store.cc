#include "store/postgres_local_store.h"

#include <Poco/Data/DataException.h>
#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/PostgreSQL/PostgreSQLException.h>

#include <mutex>
#include <utility>

#include "store/poco_local_store.h"

namespace fhirsync::store {
namespace {

using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;

// The advisory lock every fhirsync writer on a database takes ("fhsy").
constexpr char kWriterLockSql[] = "SELECT 1 FROM pg_advisory_xact_lock(1718121337)";

void RegisterPostgresConnector() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Data::PostgreSQL::Connector::registerConnector(); });
}

// Connection strings may hold a password, so messages never quote them.
Status TranslatePostgresException(const Poco::Exception& error, const std::string& what) {
  const std::string text = what + " failed on the PostgreSQL store: " + error.displayText();
  if (dynamic_cast<const Poco::Data::ConnectionFailedException*>(&error) ||
      dynamic_cast<const Poco::Data::NotConnectedException*>(&error) ||
      dynamic_cast<const Poco::Data::PostgreSQL::ConnectionException*>(&error)) {
    return UnavailableError(text);
  }
  return InternalError(text);
}

class PostgresLocalStore final : public PocoLocalStore {
 public:
  PostgresLocalStore(Poco::Data::Session write_session, ReadSessionPool::Factory read_sessions,
                     std::size_t max_body_bytes)
      : PocoLocalStore(PostgresSql(), std::move(write_session), std::move(read_sessions),
                       max_body_bytes) {}

  Status Open(const std::string& node_id) { return Initialize(node_id, "PostgreSQL store"); }

 protected:
  void BeginWrite(Poco::Data::Session& session) override {
    session.begin();
    int locked = 0;
    session << kWriterLockSql, into(locked), now;
  }
  void CommitWrite(Poco::Data::Session& session) override { session.commit(); }
  void RollbackWrite(Poco::Data::Session& session) override { session.rollback(); }

  Status TranslateException(const Poco::Exception& error,
                            const std::string& what) const override {
    return TranslatePostgresException(error, what);
  }
};

}  // namespace

StatusOr<std::unique_ptr<LocalStore>> OpenPostgresLocalStore(const std::string& connection,
                                                             const std::string& node_id,
                                                             std::size_t max_body_bytes) {
  RegisterPostgresConnector();
  std::unique_ptr<PostgresLocalStore> store;
  try {
    Poco::Data::Session write_session(Poco::Data::PostgreSQL::Connector::KEY, connection);
    auto read_sessions = [connection] {
      return Poco::Data::Session(Poco::Data::PostgreSQL::Connector::KEY, connection);
    };
    store = std::make_unique<PostgresLocalStore>(std::move(write_session), read_sessions,
                                                 max_body_bytes);
  } catch (const Poco::Exception& error) {
    return UnavailableError("cannot connect to the PostgreSQL store: " + error.displayText());
  }
  FHIRSYNC_RETURN_IF_ERROR(store->Open(node_id));
  return std::unique_ptr<LocalStore>(std::move(store));
}

}  // namespace fhirsync::store
