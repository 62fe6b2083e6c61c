#include "e2e/sync_node.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <sstream>

#include "fhirsync/config.h"

namespace fhirsync::e2e {
namespace {

constexpr auto kRunTimeout = std::chrono::seconds(120);

// The integer members of one JSON line.
std::map<std::string, std::int64_t> IntFields(const rapidjson::Document& doc) {
  std::map<std::string, std::int64_t> fields;
  for (const auto& member : doc.GetObject()) {
    if (member.value.IsInt64()) fields[member.name.GetString()] = member.value.GetInt64();
    if (member.value.IsBool()) fields[member.name.GetString()] = member.value.GetBool() ? 1 : 0;
  }
  return fields;
}

// The summary lines `sync --once --json` printed.
SyncRun ParseSync(testing::ProcessResult process) {
  SyncRun run;
  run.process = std::move(process);
  std::istringstream lines(run.process.out);
  for (std::string line; std::getline(lines, line);) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    if (doc.HasParseError() || !doc.IsObject()) continue;
    if (doc.HasMember("parent_node_id")) {
      run.pulled = true;
      run.pull = IntFields(doc);
    } else if (doc.HasMember("sent")) {
      run.pushed = true;
      run.push = IntFields(doc);
    }
  }
  return run;
}

}  // namespace

std::string SyncRun::Describe() const {
  return process.Describe() + "\nstdout: " + process.out + "\nstderr: " + process.err;
}

SyncNode::SyncNode(std::string dir, std::string node_id)
    : dir_(std::move(dir)), node_id_(std::move(node_id)) {}

SyncNode::~SyncNode() { serve_.Stop(); }

testing::ProcessResult SyncNode::Run(std::vector<std::string> args,
                                     const std::string& stdin_data) {
  std::vector<std::string> argv{FHIRSYNC_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--dir", dir_});
  testing::ProcessOptions options;
  options.stdin_data = stdin_data;
  options.timeout = kRunTimeout;
  return testing::RunProcess(argv, options);
}

bool SyncNode::InitRoot() {
  testing::ProcessResult r = Run({"init", "--node-id", node_id_});
  EXPECT_EQ(r.exit_code, 0) << node_id_ << ": " << r.err;
  return r.exit_code == 0;
}

bool SyncNode::InitChild(const SyncNode& parent, const std::vector<std::string>& extra) {
  std::vector<std::string> args{"init",   "--node-id",     node_id_, "--parent",
                                parent.url(), "--parent-user", node_id_};
  args.insert(args.end(), extra.begin(), extra.end());
  testing::ProcessResult r = Run(args, PasswordOf(node_id_) + "\n");
  EXPECT_EQ(r.exit_code, 0) << node_id_ << ": " << r.err;
  return r.exit_code == 0;
}

bool SyncNode::AddUser(const std::string& name, const std::string& password,
                       const std::string& roles) {
  testing::ProcessResult r = Run({"user", "add", name, "--role", roles}, password + "\n");
  EXPECT_EQ(r.exit_code, 0) << node_id_ << ": " << r.err;
  return r.exit_code == 0;
}

bool SyncNode::Serve() {
  const bool started = serve_.Start();
  EXPECT_TRUE(started) << node_id_ << ": " << serve_.error();
  return started;
}

bool SyncNode::Put(const std::string& body) {
  testing::ProcessResult r = Run({"put", "-"}, body);
  EXPECT_EQ(r.exit_code, 0) << node_id_ << " put " << body << ": " << r.err;
  return r.exit_code == 0;
}

bool SyncNode::Delete(const std::string& key) {
  testing::ProcessResult r = Run({"delete", key});
  EXPECT_EQ(r.exit_code, 0) << node_id_ << " delete " << key << ": " << r.err;
  return r.exit_code == 0;
}

SyncRun SyncNode::Sync(bool pull, bool push) {
  std::vector<std::string> args{"sync", "--once", "--json"};
  if (pull) args.push_back("--pull");
  if (push) args.push_back("--push");
  return ParseSync(Run(args));
}

SyncRun SyncNode::SyncAsConfigured() { return ParseSync(Run({"sync", "--once", "--json"})); }


std::unique_ptr<LocalStore> SyncNode::OpenStore() const {
  StatusOr<NodeConfig> config = LoadNodeConfig(dir_);
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return nullptr;
  StatusOr<std::unique_ptr<LocalStore>> store =
      OpenLocalStore(config->store, dir_, config->node_id);
  EXPECT_TRUE(store.ok()) << node_id_ << ": " << store.status();
  return store.ok() ? std::move(store).value() : nullptr;
}

Contents SyncNode::ReadContents() const {
  Contents contents;
  std::unique_ptr<LocalStore> store = OpenStore();
  if (store == nullptr) return contents;
  StatusOr<StoreStats> stats = store->Stats();
  EXPECT_TRUE(stats.ok()) << stats.status();
  if (!stats.ok()) return contents;
  for (const TypeCount& type : stats->types) {
    for (std::int64_t offset = 0;; offset += 500) {
      SearchQuery query;
      query.type = type.type;
      query.include_deleted = true;
      query.offset = offset;
      query.limit = 500;
      StatusOr<SearchResult> page = store->Search(query);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok() || page->resources.empty()) break;
      for (const Resource& r : page->resources) {
        contents[r.type + "/" + r.id] = r.deleted ? "<deleted>" : WithoutMeta(r.body);
      }
    }
  }
  return contents;
}

std::string WithoutMeta(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return body;
  doc.RemoveMember("meta");
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return buffer.GetString();
}

bool SameJson(const std::string& a, const std::string& b) {
  rapidjson::Document da;
  rapidjson::Document db;
  da.Parse(a.data(), a.size());
  db.Parse(b.data(), b.size());
  if (da.HasParseError() || db.HasParseError()) return a == b;
  return da == db;  // objects compare by member name, not order
}

std::string DiffContents(const std::string& a_name, const Contents& a, const std::string& b_name,
                         const Contents& b) {
  std::string diff;
  for (const auto& [key, body] : a) {
    auto other = b.find(key);
    if (other == b.end()) {
      diff += key + " is on " + a_name + " only\n";
    } else if (!SameJson(body, other->second)) {
      diff += key + " differs: " + a_name + " " + body + " / " + b_name + " " + other->second +
              "\n";
    }
  }
  for (const auto& [key, body] : b) {
    if (a.count(key) == 0) diff += key + " is on " + b_name + " only\n";
  }
  return diff;
}

}  // namespace fhirsync::e2e

namespace fhirsync::e2e {

void ExpectIdentical(const std::vector<const SyncNode*>& nodes) {
  ASSERT_FALSE(nodes.empty());
  const Contents first = nodes[0]->ReadContents();
  EXPECT_FALSE(first.empty()) << nodes[0]->node_id() << " holds nothing";
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    EXPECT_EQ(DiffContents(nodes[0]->node_id(), first, nodes[i]->node_id(),
                           nodes[i]->ReadContents()),
              "");
  }
}

void ExpectAgreesWithParent(const SyncNode& child, const SyncNode& parent) {
  std::unique_ptr<LocalStore> mine = child.OpenStore();
  std::unique_ptr<LocalStore> theirs = parent.OpenStore();
  ASSERT_NE(mine, nullptr);
  ASSERT_NE(theirs, nullptr);
  for (const auto& [key, body] : child.ReadContents()) {
    const std::string type = key.substr(0, key.find('/'));
    const std::string id = key.substr(key.find('/') + 1);
    StatusOr<Resource> local = mine->Get(type, id);
    StatusOr<Resource> remote = theirs->Get(type, id);
    ASSERT_TRUE(local.ok()) << key << ": " << local.status();
    ASSERT_TRUE(remote.ok()) << key << " is not on " << parent.node_id() << ": "
                             << remote.status();
    StatusOr<std::optional<SyncState>> agreed = mine->GetSyncState(type, id);
    ASSERT_TRUE(agreed.ok()) << agreed.status();
    ASSERT_TRUE(agreed->has_value()) << child.node_id() << " never agreed on " << key;
    EXPECT_EQ((*agreed)->remote_version, std::to_string(remote->version))
        << child.node_id() << " / " << parent.node_id() << ": " << key;
    EXPECT_EQ((*agreed)->local_version, local->version) << child.node_id() << ": " << key;
  }
}

void ExpectSettled(const SyncNode& node) {
  std::unique_ptr<LocalStore> store = node.OpenStore();
  ASSERT_NE(store, nullptr);
  StatusOr<NodeConfig> config = LoadNodeConfig(node.dir());
  ASSERT_TRUE(config.ok()) << config.status();
  OutboxQuery waiting;
  // A root's own changes stay queued: it has no parent to send them to.
  waiting.states = {kOutboxDead};
  if (!config->parent.url.empty()) waiting.states.push_back(kOutboxPending);
  StatusOr<std::vector<OutboxItem>> items = store->ListOutbox(waiting);
  ASSERT_TRUE(items.ok()) << items.status();
  for (const OutboxItem& item : *items) {
    ADD_FAILURE() << node.node_id() << ": outbox item " << item.seq << " (" << item.type << "/"
                  << item.id << ") is " << item.state << ": " << item.message;
  }
  StatusOr<std::vector<ConflictRecord>> open = store->ListConflicts(kConflictOpen, 100);
  ASSERT_TRUE(open.ok()) << open.status();
  for (const ConflictRecord& c : *open) {
    ADD_FAILURE() << node.node_id() << ": conflict " << c.conflict_id << " on " << c.type << "/"
                  << c.id << " is still open";
  }
}

}  // namespace fhirsync::e2e
