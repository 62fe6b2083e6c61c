#include "server/request_metrics.h"

namespace fhirsync::server {

namespace {

std::string MethodLabel(const std::string& method) {
  static const char* const kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
  for (const char* known : kMethods) {
    if (method == known) return method;
  }
  return "other";
}

}  // namespace

RequestMetrics::RequestMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(&prometheus::BuildCounter()
                     .Name("fhirsync_http_requests_total")
                     .Help("HTTP requests answered, by route pattern, method and status")
                     .Register(*registry_)),
      latency_(&prometheus::BuildHistogram()
                    .Name("fhirsync_http_request_duration_seconds")
                    .Help("Time from a request's arrival to its answer, by route pattern")
                    .Register(*registry_)) {}

void RequestMetrics::Record(const std::string& route, const std::string& method, int status,
                            double seconds) {
  requests_->Add({{"route", route}, {"method", MethodLabel(method)}, {"status", std::to_string(status)}})
      .Increment();
  // From a fast read (a cached feed page) to a large Bundle or import.
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  latency_->Add({{"route", route}}, kBuckets).Observe(seconds);
}

std::vector<prometheus::MetricFamily> RequestMetrics::Collect() const {
  return registry_->Collect();
}

}  // namespace fhirsync::server
