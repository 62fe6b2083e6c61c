// AuditLog: the node's record of every sync step (pull, push, retry,
// discard, resubmit, resolution), kept in the node's own store so that an
// audit row is written in the same transaction as the effect it describes
// (architecture §1, §5).
//
// The sync services write their audit rows through the store's
// transactional operations (e.g. LocalStore::RecordPush), never after the
// fact; Append() is for events that change nothing else (a failed pull
// round). Query() serves `fhirsync audit` and the admin API.
//
// Thread safety: as LocalStore; an AuditLog only borrows its store.

#ifndef FHIRSYNC_AUDIT_LOG_H_
#define FHIRSYNC_AUDIT_LOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fhirsync/status.h"

namespace fhirsync {

class LocalStore;

// One audit row.
struct AuditRecord {
  std::int64_t audit_id = 0;  // assigned by the store
  std::int64_t at_ms = 0;     // 0 when appending: the store's time
  // "push", "pull", "retry", "discard", "resubmit", "resolve", "pause", ...
  std::string operation;
  std::string type;
  std::string id;
  std::int64_t local_version = 0;  // 0: none
  std::string remote_version;      // empty: none
  std::string transport;           // the plugin that carried it
  // The outcome class: "accepted", "conflict", "merged", "business-rule",
  // "invalid", "configuration" (no plugin carries the type), "not-found",
  // "gone", "auth", "transient", "dead-letter",
  // "requeued", "discarded", "resolved", "ok", ...
  std::string outcome;
  int http_status = 0;  // 0: no HTTP answer
  std::string message;
  std::int64_t retry_of = 0;       // the audit row this one retries; 0: none
  std::string correlation_id;      // the outbox item's, across its retries
};

struct AuditQuery {
  std::optional<std::int64_t> since_ms;  // at_ms >= since_ms
  std::string outcome;                   // empty: any
  std::string operation;                 // empty: any
  std::string type;                      // empty: any (with id: one resource)
  std::string id;
  std::string correlation_id;            // empty: any
  std::int64_t after_id = 0;             // audit_id > after_id
  std::int64_t limit = 1000;
};

class AuditLog {
 public:
  // `store` is borrowed and must outlive the AuditLog.
  explicit AuditLog(LocalStore* store) : store_(store) {}

  // Appends one row in its own transaction; returns its audit_id. The
  // store's error otherwise.
  StatusOr<std::int64_t> Append(const AuditRecord& record);
  // Rows matching `query`, ascending by audit_id.
  StatusOr<std::vector<AuditRecord>> Query(const AuditQuery& query);

 private:
  LocalStore* store_;
};

}  // namespace fhirsync

#endif  // FHIRSYNC_AUDIT_LOG_H_
