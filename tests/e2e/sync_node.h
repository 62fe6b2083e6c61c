// SyncNode: one node of a test tree, driven only through the real `fhirsync`
// program: `init` (as a root or as a child of another node), `user add`,
// `serve` (ServeProcess), `put`, `delete`, `sync --pull --push --once --json`
// and the operator verbs. The test reads a node's store directly (SQLite in
// WAL mode, so while its `serve` runs) to compare nodes.
//
// Thread safety: Sync() and Run() may be called for distinct nodes from
// distinct threads; everything else from the test's thread.

#ifndef FHIRSYNC_TESTS_E2E_SYNC_NODE_H_
#define FHIRSYNC_TESTS_E2E_SYNC_NODE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fhirsync/local_store.h"
#include "support/serve_process.h"
#include "support/subprocess.h"

namespace fhirsync::e2e {

// What one `sync --once --json` run printed, and how it ended.
struct SyncRun {
  testing::ProcessResult process;
  bool pulled = false;  // a pull summary line was printed
  bool pushed = false;  // a push summary line was printed
  // The integer fields of the pull summary ("fetched", "applied", ...) and
  // of the push summary ("sent", "merged", "conflicts", ...).
  std::map<std::string, std::int64_t> pull;
  std::map<std::string, std::int64_t> push;
  std::string Describe() const;
};

// A node's live and deleted resources by "Type/id": body without `meta`
// (versions and timestamps are per node), "<deleted>" for a tombstone.
using Contents = std::map<std::string, std::string>;

class SyncNode {
 public:
  // `dir` does not exist yet; `node_id` names the node across the tree.
  SyncNode(std::string dir, std::string node_id);
  ~SyncNode();
  SyncNode(const SyncNode&) = delete;
  SyncNode& operator=(const SyncNode&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& node_id() const { return node_id_; }
  // The password this node's parent knows it by (user = node id).
  static std::string PasswordOf(const std::string& node_id) { return node_id + "-secret"; }

  // `init` without a parent. Returns false (with a gtest failure) on error.
  bool InitRoot();
  // `init --parent` of `parent` (which must be serving), as user node_id().
  bool InitChild(const SyncNode& parent, const std::vector<std::string>& extra = {});
  // `user add NAME --role ROLES`, password on stdin.
  bool AddUser(const std::string& name, const std::string& password, const std::string& roles);
  // A child of this node may connect: user child_id, read + write.
  bool AdmitChild(const std::string& child_id) {
    return AddUser(child_id, PasswordOf(child_id), "read,write");
  }
  // Starts `fhirsync serve` on the node. url() is valid afterwards.
  bool Serve();
  void StopServing() { serve_.Stop(); }
  std::string url() const { return serve_.url(); }

  // `fhirsync ARGS... --dir D` with `stdin_data` on stdin.
  testing::ProcessResult Run(std::vector<std::string> args, const std::string& stdin_data = "");
  // `put -` of a JSON body; false (with a gtest failure) when refused.
  bool Put(const std::string& body);
  // `delete Type/id`.
  bool Delete(const std::string& key);
  // `sync --once --json` with --pull and/or --push.
  SyncRun Sync(bool pull = true, bool push = true);
  // `sync --once --json` naming no side: the sides fhirsync.json enables.
  SyncRun SyncAsConfigured();

  // The store, opened for reading by the test (nullptr with a gtest failure).
  std::unique_ptr<LocalStore> OpenStore() const;
  Contents ReadContents() const;

 private:
  std::string dir_;
  std::string node_id_;
  testing::ServeProcess serve_{FHIRSYNC_BINARY, dir_};
};

// A body with `meta` removed (versions and timestamps are per node).
std::string WithoutMeta(const std::string& body);
// Whether two JSON bodies hold the same content, whatever the member order.
bool SameJson(const std::string& a, const std::string& b);

// Describes how `a` (named a_name) differs from `b`, or "" when equal.
std::string DiffContents(const std::string& a_name, const Contents& a, const std::string& b_name,
                         const Contents& b);

// gtest expectations over several nodes:
// every node holds the same resources (deleted ones too) with the same
// content as the first one;
void ExpectIdentical(const std::vector<const SyncNode*>& nodes);
// for every resource `child` holds, its sync_state says it agreed on the
// parent's current version, at the child's current version;
void ExpectAgreesWithParent(const SyncNode& child, const SyncNode& parent);
// nothing waits on the node: no dead outbox item, no pending one (unless it
// is a root, with no parent to send to), no open conflict.
void ExpectSettled(const SyncNode& node);

}  // namespace fhirsync::e2e

#endif  // FHIRSYNC_TESTS_E2E_SYNC_NODE_H_
