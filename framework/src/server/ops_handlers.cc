#include "server/ops_handlers.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <chrono>

#include "fhirsync/base/text_util.h"
#include "server/route_policy.h"

namespace fhirsync::server {

namespace {

constexpr char kText[] = "text/plain; charset=utf-8";
// The exposition format's media type (Prometheus text format 0.0.4).
constexpr char kExposition[] = "text/plain; version=0.0.4; charset=utf-8";

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

HttpResponse Text(int status, std::string body, const char* type = kText) {
  HttpResponse response;
  response.status = status;
  response.content_type = type;
  response.body = std::move(body);
  response.SetHeader("Cache-Control", "no-store");
  return response;
}

prometheus::Family<prometheus::Gauge>& Gauge(prometheus::Registry& registry, const char* name,
                                             const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

// The store's figures as gauges; fhirsync_store_up says whether it answered.
void AddStoreFigures(ServerContext& context, prometheus::Registry& registry) {
  StatusOr<StoreFigures> figures = context.store->Figures();
  StatusOr<std::int64_t> last_seq = context.store->LastSeq();
  Gauge(registry, "fhirsync_store_up", "1 when the store answered this scrape's queries, else 0")
      .Add({})
      .Set(figures.ok() && last_seq.ok() ? 1 : 0);
  if (last_seq.ok()) {
    Gauge(registry, "fhirsync_store_last_seq", "The newest change sequence number of this node")
        .Add({})
        .Set(static_cast<double>(*last_seq));
  }
  if (!figures.ok()) return;
  auto& outbox = Gauge(registry, "fhirsync_outbox_items",
                       "Outbox items by state (pending, dead, sent, ...) and class of the last answer");
  auto& dead = Gauge(registry, "fhirsync_dead_letters",
                     "Dead letters (changes the parent refused) by class, waiting for an operator");
  for (const OutboxCount& count : figures->outbox) {
    outbox.Add({{"state", count.state}, {"class", count.outcome}})
        .Set(static_cast<double>(count.count));
    if (count.state == kOutboxDead) {
      dead.Add({{"class", count.outcome}}).Increment(static_cast<double>(count.count));
    }
  }
  // Both states are always present, so an alert on them has a series to read.
  outbox.Add({{"state", kOutboxPending}, {"class", ""}});
  outbox.Add({{"state", kOutboxDead}, {"class", ""}});
  Gauge(registry, "fhirsync_conflicts_open", "Open conflicts waiting for a decision")
      .Add({})
      .Set(static_cast<double>(figures->open_conflicts));
  Gauge(registry, "fhirsync_store_size_bytes", "The store's size on disk (see docs/operator-guide.md)")
      .Add({})
      .Set(static_cast<double>(figures->size_bytes));
}

// For a node that is also a child: when its parent last answered, as the
// store recorded it (every pull page and push answer).
void AddParentContact(ServerContext& context, prometheus::Registry& registry) {
  if (context.node_config.parent.url.empty()) return;
  StatusOr<ParentContact> contact = context.store->GetParentContact();
  if (!contact.ok()) return;
  auto& family = Gauge(registry, "fhirsync_parent_last_contact_timestamp_seconds",
                       "When the parent last answered (kind: any pull or push answer; "
                       "pull_completed: a pull that reached the end of its feed); 0: never");
  family.Add({{"kind", "any"}}).Set(static_cast<double>(contact->last_contact_ms) / 1000.0);
  family.Add({{"kind", "pull_completed"}}).Set(static_cast<double>(contact->last_pull_ms) / 1000.0);
}

}  // namespace

HttpResponse HandleHealthz(ServerContext& context, const HttpRequest& /*request*/) {
  StatusOr<std::int64_t> last_seq = context.store->LastSeq();
  if (!last_seq.ok()) {
    // One line: a load balancer's log or `curl` shows it whole.
    std::string reason = last_seq.status().message();
    for (char& c : reason) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    return Text(503, "unavailable: the store does not answer: " + EscapeForMessage(reason, 300) + "\n");
  }
  return Text(200, "ok: node " + context.node_id + ", the store answers (last change seq " +
                       std::to_string(*last_seq) + ")\n");
}

HttpResponse HandleMetrics(ServerContext& context, const HttpRequest& /*request*/) {
  prometheus::Registry scrape;
  AddStoreFigures(context, scrape);
  AddParentContact(context, scrape);
  std::vector<prometheus::MetricFamily> families = context.metrics.Collect();
  std::vector<prometheus::MetricFamily> figures = scrape.Collect();
  families.insert(families.end(), std::make_move_iterator(figures.begin()),
                  std::make_move_iterator(figures.end()));
  std::string body = prometheus::TextSerializer().Serialize(families);
  if (context.extra_metrics) body += context.extra_metrics();
  return Text(200, std::move(body), kExposition);
}

void ObserveRequest(ServerContext& context, const HttpRequest& request, int status,
                    double seconds) {
  context.metrics.Record(RouteLabel(request), request.method, status, seconds);
  context.children.Saw(request, status, NowMs(), context.config.feed_page_size);
}

}  // namespace fhirsync::server
