// fhirsync audit: the node's record of every sync step.

#include <iostream>

#include "command.h"
#include "fhirsync/audit_log.h"
#include "node.h"
#include "output.h"
#include "push_cli.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync audit [--since T] [--status S] [--operation O] [--limit N]\n"
    "                      [--json] [--dir D]\n"
    "\n"
    "Prints the audit log, oldest first: every pull, push, retry, discard, resubmit\n"
    "and resolution with its time, resource, versions, transport, outcome class,\n"
    "HTTP status, message and the row it retries.\n"
    "\n"
    "  --since T      only rows at or after T (2026-11-22 or an instant)\n"
    "  --status S     only this outcome (accepted, conflict, merged, business-rule,\n"
    "                 invalid, configuration, not-found, gone, auth, transient,\n"
    "                 ambiguous,\n"
    "                 requeued, discarded, resolved, ...)\n"
    "  --operation O  only this operation (push, pull, retry, discard, resubmit,\n"
    "                 resolve)\n"
    "  --limit N      at most N rows (default 1000)\n"
    "  --json         print an array of {audit_id, at, operation, type, id,\n"
    "                 local_version, remote_version, transport, outcome,\n"
    "                 http_status, message, retry_of, correlation_id}\n"
    "  --dir D        the node folder (default: $FHIRSYNC_DIR or .)\n";

int RunAudit(const Invocation& invocation) {
  CommandLine cl(invocation);
  std::string since, status, operation;
  std::int64_t limit = 1000;
  bool json = false;
  cl.flags().AddString("since", "T", &since);
  cl.flags().AddString("status", "S", &status);
  cl.flags().AddString("operation", "O", &operation);
  cl.flags().AddInt("limit", "N", &limit, 1);
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(0, 0)) return *exit;
  AuditQuery query;
  if (!since.empty()) {
    StatusOr<std::int64_t> ms = ParseTimeFlag("since", since);
    if (!ms.ok()) return cl.UsageError(ms.status().message());
    query.since_ms = *ms;
  }
  query.outcome = status;
  query.operation = operation;
  query.limit = limit;
  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  AuditLog log(&(*node)->store());
  StatusOr<std::vector<AuditRecord>> rows = log.Query(query);
  if (!rows.ok()) return cl.Fail(rows.status());
  if (json) {
    JsonOutput out;
    out.StartArray();
    for (const AuditRecord& row : *rows) {
      out.StartObject();
      WriteAuditFields(out, row);
      out.EndObject();
    }
    out.EndArray();
    out.Print();
    return kExitOk;
  }
  for (const AuditRecord& row : *rows) {
    std::cout << PadNumber(row.audit_id, 6) << "  " << TimeText(row.at_ms) << "  "
              << Pad(row.operation, 8) << "  " << Pad(row.outcome, 13) << "  "
              << PadNumber(row.http_status, 3) << "  "
              << Pad(row.type.empty() ? "-" : row.type + "/" + row.id, 30) << "  " << row.message;
    if (row.retry_of != 0) std::cout << " (retries #" << row.retry_of << ")";
    std::cout << '\n';
  }
  return kExitOk;
}

}  // namespace

extern const Command kAuditCommand = {"audit", "print the audit log of sync steps", kHelp,
                                      &RunAudit};

}  // namespace fhirsync::cli
