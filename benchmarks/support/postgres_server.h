// PostgresServer: the PostgreSQL cluster a benchmark runs against. The
// libpq connection string comes from FHIRSYNC_BENCH_PG_CONNECTION; when that
// is unset, the first Get() starts a throwaway cluster of our own with
// tests/store/pg_cluster.sh (fsync on, so timings are those of a real
// server), and StopOwnCluster() removes it. Header-only; needs
// FHIRSYNC_PG_CLUSTER_SCRIPT (benchmarks/CMakeLists.txt defines it).
//
// Thread safety: Get() and StopOwnCluster() from main's thread only.

#ifndef FHIRSYNC_BENCHMARKS_SUPPORT_POSTGRES_SERVER_H_
#define FHIRSYNC_BENCHMARKS_SUPPORT_POSTGRES_SERVER_H_

#include <stdlib.h>

#include <Poco/Data/PostgreSQL/Connector.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <system_error>

namespace fhirsync::bench {

class PostgresServer {
 public:
  static PostgresServer& Get() {
    if (instance_ == nullptr) instance_ = new PostgresServer();
    return *instance_;
  }
  // The libpq connection string; empty when error() says why there is none.
  const std::string& connection() const { return connection_; }
  const std::string& error() const { return error_; }

  // Stops and removes the cluster, only if Get() started one.
  static void StopOwnCluster() {
    if (instance_ == nullptr) return;
    PostgresServer& server = *instance_;
    if (!server.own_file_.empty()) {
      std::string command = std::string(FHIRSYNC_PG_CLUSTER_SCRIPT) + " stop '" +
                            server.own_file_ + "' >/dev/null 2>&1";
      if (std::system(command.c_str()) != 0) std::cerr << "pg_cluster.sh stop failed\n";
      std::error_code ignored;
      std::filesystem::remove_all(server.own_dir_, ignored);
    }
  }

 private:
  PostgresServer() {
    Poco::Data::PostgreSQL::Connector::registerConnector();
    if (const char* env = std::getenv("FHIRSYNC_BENCH_PG_CONNECTION"); env && *env) {
      connection_ = env;
      return;
    }
    std::string pattern =
        (std::filesystem::temp_directory_path() / "fhirsync-bench-pg.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      error_ = "mkdtemp failed";
      return;
    }
    own_dir_ = pattern;
    own_file_ = own_dir_ + "/connection.txt";
    std::string command = std::string("PG_FSYNC=on ") + FHIRSYNC_PG_CLUSTER_SCRIPT + " start '" +
                          own_file_ + "' >/dev/null";
    if (std::system(command.c_str()) != 0) {
      error_ = "pg_cluster.sh start failed (set FHIRSYNC_BENCH_PG_CONNECTION instead)";
      return;
    }
    std::ifstream in(own_file_);
    std::getline(in, connection_);
  }

  static inline PostgresServer* instance_ = nullptr;
  std::string connection_;
  std::string error_;
  std::string own_dir_;
  std::string own_file_;
};

}  // namespace fhirsync::bench

#endif  // FHIRSYNC_BENCHMARKS_SUPPORT_POSTGRES_SERVER_H_
