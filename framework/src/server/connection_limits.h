// ConnectionLimits: how many connections are open, in all and per client
// address (internal), so that one client (or everyone) cannot hold more than
// server.max_connections_per_address (server.max_connections) of them.
//
// Thread safety: all methods may be called from any thread.

#ifndef FHIRSYNC_SERVER_CONNECTION_LIMITS_H_
#define FHIRSYNC_SERVER_CONNECTION_LIMITS_H_

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace fhirsync::server {

class ConnectionLimits {
 public:
  // Holds one connection's place while it lives.
  class Lease {
   public:
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

   private:
    friend class ConnectionLimits;
    Lease(ConnectionLimits& limits, std::string address)
        : limits_(limits), address_(std::move(address)) {}
    ConnectionLimits& limits_;
    const std::string address_;
  };

  ConnectionLimits(int per_address, int total) : per_address_(per_address), total_(total) {}

  // A lease for a connection from `address`, or null with `*why` naming the
  // limit reached (and the key that sets it).
  std::unique_ptr<Lease> TryAcquire(const std::string& address, std::string* why);

  int open() const;

 private:
  const int per_address_;
  const int total_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> by_address_;
  int open_ = 0;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_CONNECTION_LIMITS_H_
