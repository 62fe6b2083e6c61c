#include "store_test_support.h"

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/UUIDGenerator.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

namespace fhirsync::testing {

ScratchDir::ScratchDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "fhirsync-test.XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string PostgresBaseConnection() {
  const char* file = std::getenv("FHIRSYNC_PG_CONNECTION_FILE");
  if (file == nullptr || *file == '\0') {
    throw std::runtime_error(
        "FHIRSYNC_PG_CONNECTION_FILE is not set: run the tests through ctest, whose "
        "`postgres` fixture starts a PostgreSQL cluster (tests/store/pg_cluster.sh)");
  }
  std::ifstream in(file);
  std::string connection;
  if (!in || !std::getline(in, connection) || connection.empty()) {
    throw std::runtime_error(std::string("PostgreSQL connection file '") + file +
                             "' is missing or empty: the `postgres` fixture did not start "
                             "PostgreSQL (see the postgres_start test's output)");
  }
  return connection;
}

namespace {

void RegisterConnector() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Data::PostgreSQL::Connector::registerConnector(); });
}

}  // namespace

PostgresSchema::PostgresSchema() : base_(PostgresBaseConnection()) {
  RegisterConnector();
  std::string uuid = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
  name_ = "t_";
  for (char c : uuid) {
    if (c != '-') name_ += c;
  }
  Poco::Data::Session session(Poco::Data::PostgreSQL::Connector::KEY, base_);
  // The name is made here of hex digits only, never from test input.
  session << "CREATE SCHEMA " + name_, Poco::Data::Keywords::now;
  connection_ = base_ + " options=-csearch_path=" + name_;
}

PostgresSchema::~PostgresSchema() {
  try {
    Poco::Data::Session session(Poco::Data::PostgreSQL::Connector::KEY, base_);
    session << "DROP SCHEMA " + name_ + " CASCADE", Poco::Data::Keywords::now;
  } catch (const Poco::Exception&) {
    // The cluster is removed after the run anyway.
  }
}

std::uintmax_t FileSizeOrZero(const std::string& path) {
  std::error_code ignored;
  const std::uintmax_t size = std::filesystem::file_size(path, ignored);
  return ignored ? 0 : size;
}

std::uint32_t WalRestarts(const std::string& wal_path) {
  std::ifstream in(wal_path, std::ios::binary);
  unsigned char header[16] = {};
  if (!in.read(reinterpret_cast<char*>(header), sizeof header)) return 0;
  return (std::uint32_t{header[12]} << 24) | (std::uint32_t{header[13]} << 16) |
         (std::uint32_t{header[14]} << 8) | std::uint32_t{header[15]};
}

}  // namespace fhirsync::testing
