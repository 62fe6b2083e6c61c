// Helpers the store tests share: scratch folders, throwaway PostgreSQL
// schemas on the cluster that the ctest fixture `postgres` starts, and a
// look at SQLite's files.
//
// The fixture (tests/store/CMakeLists.txt) runs pg_cluster.sh before the
// tests and passes the connection file's path in the environment variable
// FHIRSYNC_PG_CONNECTION_FILE. A test that needs PostgreSQL and cannot find
// it fails: it never skips.

#ifndef FHIRSYNC_TESTS_STORE_STORE_TEST_SUPPORT_H_
#define FHIRSYNC_TESTS_STORE_STORE_TEST_SUPPORT_H_

#include <cstdint>
#include <string>

namespace fhirsync::testing {

// A fresh folder under the system temporary folder, removed on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The libpq connection string of the fixture's cluster. Throws
// std::runtime_error (failing the test) when the variable or file is missing.
std::string PostgresBaseConnection();

// A new empty schema on the fixture's cluster, dropped on destruction;
// connection() selects it through search_path so a store opened with it
// sees only its own tables.
class PostgresSchema {
 public:
  PostgresSchema();
  ~PostgresSchema();
  PostgresSchema(const PostgresSchema&) = delete;
  PostgresSchema& operator=(const PostgresSchema&) = delete;
  const std::string& connection() const { return connection_; }
  const std::string& name() const { return name_; }

 private:
  std::string base_;
  std::string name_;
  std::string connection_;
};

// The size of a file, 0 if it does not exist.
std::uintmax_t FileSizeOrZero(const std::string& path);

// How many times a SQLite WAL file was started over: its header's
// checkpoint sequence number (big-endian, bytes 12-15; see
// sqlite.org/fileformat2.html). 0 if the file is missing or short.
std::uint32_t WalRestarts(const std::string& wal_path);

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_STORE_STORE_TEST_SUPPORT_H_
