#include "store/postgres_local_store.h"

#include <Poco/Data/DataException.h>
#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/PostgreSQL/PostgreSQLException.h>
#include <libpq-fe.h>

#include <memory>
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

// A connection made and closed with libpq alone, before Poco makes its own:
// Poco 1.11's PostgreSQL session does not release the connection object of
// an attempt that failed (about 36 KB each), so a node retrying an
// unreachable database would grow. Unavailable with libpq's reason when the
// server cannot be reached or refuses this connection string's user.
Status ProbePostgres(const std::string& connection) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> probe(PQconnectdb(connection.c_str()), &PQfinish);
  if (probe == nullptr) {
    return UnavailableError("cannot connect to the PostgreSQL store: out of memory");
  }
  if (PQstatus(probe.get()) == CONNECTION_OK) return Status::Ok();
  std::string reason = PQerrorMessage(probe.get());
  while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
  return UnavailableError("cannot connect to the PostgreSQL store: " + reason);
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
  FHIRSYNC_RETURN_IF_ERROR(ProbePostgres(connection));
  std::unique_ptr<PostgresLocalStore> store;
  try {
    Poco::Data::Session write_session(Poco::Data::PostgreSQL::Connector::KEY, connection);
    // Read sessions are made later, as readers need them: probed the same way.
    auto read_sessions = [connection] {
      if (Status probed = ProbePostgres(connection); !probed.ok()) {
        throw Poco::Data::ConnectionFailedException(probed.message());
      }
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
