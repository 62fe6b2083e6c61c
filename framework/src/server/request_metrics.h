// RequestMetrics: the server's own counters for GET /metrics (internal):
// requests by route pattern, method and status, and their latency by route,
// kept in a prometheus-cpp registry.
//
// Thread safety: Record() and Collect() may be called from many threads at
// once (the registry and its families lock).

#ifndef FHIRSYNC_SERVER_REQUEST_METRICS_H_
#define FHIRSYNC_SERVER_REQUEST_METRICS_H_

#include <memory>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

namespace fhirsync::server {

class RequestMetrics {
 public:
  RequestMetrics();

  // One answered request: `route` from RouteLabel(), `method` as sent (a
  // method outside the HTTP set counts as "other"), `seconds` from the
  // request's arrival to its answer being ready.
  void Record(const std::string& route, const std::string& method, int status, double seconds);

  // fhirsync_http_requests_total and fhirsync_http_request_duration_seconds.
  std::vector<prometheus::MetricFamily> Collect() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* latency_;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_REQUEST_METRICS_H_
