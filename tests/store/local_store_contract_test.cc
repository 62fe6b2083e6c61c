// The LocalStore contract, run on every backend (SQLite and PostgreSQL).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "store_test_support.h"

namespace fhirsync {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kNode[] = "node-a";
constexpr char kParent[] = "parent-hq";

WriteOp FhirPut(std::string type, std::string id, std::string body) {
  WriteOp op;
  op.kind = WriteOp::Kind::kPut;
  op.type = std::move(type);
  op.id = std::move(id);
  op.body = std::move(body);
  return op;
}

WriteOp FhirDelete(std::string type, std::string id) {
  WriteOp op;
  op.kind = WriteOp::Kind::kDelete;
  op.type = std::move(type);
  op.id = std::move(id);
  return op;
}

std::string PatientBody(const std::string& family, const std::string& id = "") {
  return std::string(R"({"resourceType":"Patient",)") +
         (id.empty() ? "" : "\"id\":\"" + id + "\",") + R"("name":[{"family":")" + family +
         R"("}]})";
}

// Everything a failed write must leave as it was.
struct Snapshot {
  std::int64_t last_seq = 0;
  std::int64_t outbox = 0;
  std::vector<std::pair<std::string, std::pair<std::int64_t, std::int64_t>>> counts;
  bool operator==(const Snapshot& other) const {
    return last_seq == other.last_seq && outbox == other.outbox && counts == other.counts;
  }
};

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") schema_ = std::make_unique<testing::PostgresSchema>();
    store_ = Open(kNode);
    ASSERT_NE(store_, nullptr);
  }

  StoreConfig Config(std::size_t max_body_bytes = kDefaultMaxBodyBytes) {
    StoreConfig config;
    config.backend = GetParam();
    config.max_body_bytes = max_body_bytes;
    if (schema_) config.connection = schema_->connection();
    return config;
  }

  std::unique_ptr<LocalStore> Open(const std::string& node,
                                   std::size_t max_body_bytes = kDefaultMaxBodyBytes) {
    auto store = OpenLocalStore(Config(max_body_bytes), dir_.path(), node);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  Snapshot Snap() {
    Snapshot snap;
    auto stats = store_->Stats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    auto last = store_->LastSeq();
    EXPECT_TRUE(last.ok()) << last.status();
    snap.last_seq = *last;
    snap.outbox = stats->outbox_pending;
    EXPECT_EQ(stats->last_seq, *last);
    for (const TypeCount& count : stats->types) {
      snap.counts.push_back({count.type, {count.live, count.deleted}});
    }
    return snap;
  }

  WriteResult MustPut(const WriteOp& op, const WriteOptions& options = {}) {
    auto result = store_->Put(op, options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : WriteResult{};
  }

  void ExpectIntegrity() {
    Status status = store_->CheckIntegrity();
    EXPECT_TRUE(status.ok()) << status;
  }

  testing::ScratchDir dir_;
  std::unique_ptr<testing::PostgresSchema> schema_;
  std::unique_ptr<LocalStore> store_;
};

TEST_P(StoreContractTest, PutThenGetReturnsStampedBody) {
  WriteResult put = MustPut(FhirPut("Patient", "p1", PatientBody("Doe")));
  EXPECT_EQ(put.type, "Patient");
  EXPECT_EQ(put.id, "p1");
  EXPECT_EQ(put.version, 1);
  EXPECT_EQ(put.seq, 1);
  EXPECT_EQ(put.action, ChangeAction::kCreate);
  EXPECT_TRUE(put.changed);
  EXPECT_GT(put.last_updated_ms, 0);

  auto got = store_->Get("Patient", "p1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->version, 1);
  EXPECT_FALSE(got->deleted);
  EXPECT_EQ(got->format, ResourceFormat::kFhirJson);
  EXPECT_EQ(got->last_updated_ms, put.last_updated_ms);
  EXPECT_EQ(got->content_hash.size(), 64u);
  EXPECT_THAT(got->body, AllOf(HasSubstr(R"("id":"p1")"), HasSubstr(R"("versionId":"1")"),
                               HasSubstr(R"("family":"Doe")"), HasSubstr("lastUpdated")));
  ExpectIntegrity();
}

TEST_P(StoreContractTest, PutWithoutIdAssignsUuid) {
  WriteResult put = MustPut(FhirPut("Patient", "", PatientBody("Roe")));
  EXPECT_EQ(put.id.size(), 36u);
  auto got = store_->Get("Patient", put.id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(got->body, HasSubstr("\"id\":\"" + put.id + "\""));
}

TEST_P(StoreContractTest, UpdatesMakeVersionsAndHistoryNewestFirst) {
  MustPut(FhirPut("Patient", "p1", PatientBody("One")));
  MustPut(FhirPut("Patient", "p1", PatientBody("Two", "p1")));
  WriteResult third = MustPut(FhirPut("Patient", "p1", PatientBody("Three")));
  EXPECT_EQ(third.version, 3);
  EXPECT_EQ(third.seq, 3);
  EXPECT_EQ(third.action, ChangeAction::kUpdate);

  auto history = store_->History("Patient", "p1");
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].version, 3);
  EXPECT_EQ((*history)[2].version, 1);
  EXPECT_THAT((*history)[2].body, HasSubstr("One"));

  auto v2 = store_->GetVersion("Patient", "p1", 2);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_THAT(v2->body, AllOf(HasSubstr("Two"), HasSubstr(R"("versionId":"2")")));
  auto v4 = store_->GetVersion("Patient", "p1", 4);
  EXPECT_EQ(v4.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(v4.status().message(), HasSubstr("Patient/p1 has no version 4"));
  auto none = store_->History("Patient", "nobody");
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  auto missing = store_->Get("Patient", "nobody");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("Patient/nobody does not exist"));
  ExpectIntegrity();
}

TEST_P(StoreContractTest, SameContentIsANoOp) {
  MustPut(FhirPut("Patient", "p1", PatientBody("Same")));
  Snapshot before = Snap();
  // The same content, with meta fields of another node's numbering: still
  // the same content hash.
  WriteResult again = MustPut(FhirPut(
      "Patient", "p1",
      R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"9","lastUpdated":"2020-01-01T00:00:00Z"},"name":[{"family":"Same"}]})"));
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.seq, 0);
  EXPECT_EQ(again.version, 1);
  EXPECT_EQ(Snap(), before);
  auto history = store_->History("Patient", "p1");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 1u);
}

TEST_P(StoreContractTest, DeleteWritesATombstoneVersion) {
  MustPut(FhirPut("Patient", "p1", PatientBody("Gone")));
  auto deleted = store_->Delete("Patient", "p1");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->version, 2);
  EXPECT_EQ(deleted->action, ChangeAction::kDelete);
  EXPECT_TRUE(deleted->changed);

  auto got = store_->Get("Patient", "p1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->deleted);
  EXPECT_EQ(got->version, 2);
  EXPECT_TRUE(got->body.empty());

  Snapshot before = Snap();
  auto twice = store_->Delete("Patient", "p1");
  ASSERT_TRUE(twice.ok()) << twice.status();
  EXPECT_FALSE(twice->changed);
  EXPECT_EQ(twice->version, 2);
  EXPECT_EQ(Snap(), before);

  auto never = store_->Delete("Patient", "never");
  EXPECT_EQ(never.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(never.status().message(),
              AllOf(HasSubstr("entry 1 (Patient/never)"), HasSubstr("does not exist")));
  EXPECT_EQ(Snap(), before);

  // Writing again brings it back as a create.
  WriteResult back = MustPut(FhirPut("Patient", "p1", PatientBody("Gone")));
  EXPECT_EQ(back.version, 3);
  EXPECT_EQ(back.action, ChangeAction::kCreate);
  EXPECT_TRUE(back.changed);
  ExpectIntegrity();
}

TEST_P(StoreContractTest, ExpectedVersionMismatchIsAborted) {
  WriteOp create = FhirPut("Patient", "p1", PatientBody("A"));
  create.expected_version = 0;
  MustPut(create);

  Snapshot before = Snap();
  auto conflict = store_->Put(create);  // must not exist yet, but does
  EXPECT_EQ(conflict.status().code(), StatusCode::kAborted);
  EXPECT_THAT(conflict.status().message(),
              AllOf(HasSubstr("entry 1 (Patient/p1)"), HasSubstr("expected version 0"),
                    HasSubstr("current version is 1")));
  WriteOp stale = FhirPut("Patient", "p1", PatientBody("B"));
  stale.expected_version = 5;
  auto stale_result = store_->Put(stale);
  EXPECT_EQ(stale_result.status().code(), StatusCode::kAborted);
  EXPECT_THAT(stale_result.status().message(),
              AllOf(HasSubstr("expected version 5"), HasSubstr("current version is 1")));
  auto bad_delete = store_->Delete("Patient", "p1", {}, 3);
  EXPECT_EQ(bad_delete.status().code(), StatusCode::kAborted);
  EXPECT_EQ(Snap(), before);

  stale.expected_version = 1;
  WriteResult ok = MustPut(stale);
  EXPECT_EQ(ok.version, 2);
}

TEST_P(StoreContractTest, ChangesFeedFiltersAndPages) {
  MustPut(FhirPut("Patient", "p1", PatientBody("A")));
  MustPut(FhirPut("Observation", "o1", R"({"resourceType":"Observation","status":"final"})"));
  MustPut(FhirPut("Patient", "p2", PatientBody("B")));
  ASSERT_TRUE(store_->Delete("Patient", "p1").ok());

  ChangeQuery all;
  auto changes = store_->Changes(all);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), 4u);
  for (std::size_t i = 0; i < changes->size(); ++i) {
    EXPECT_EQ((*changes)[i].seq, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ((*changes)[i].origin, kNode);
    EXPECT_TRUE((*changes)[i].resource.body.empty()) << "bodies only when asked";
  }
  EXPECT_EQ((*changes)[3].action, ChangeAction::kDelete);
  EXPECT_TRUE((*changes)[3].resource.deleted);
  EXPECT_EQ((*changes)[1].resource.type, "Observation");

  ChangeQuery patients;
  patients.types = {"Patient"};
  patients.with_bodies = true;
  patients.after_seq = 1;
  patients.limit = 1;
  auto page = store_->Changes(patients);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].seq, 3);
  EXPECT_EQ((*page)[0].resource.id, "p2");
  EXPECT_THAT((*page)[0].resource.body, HasSubstr(R"("family":"B")"));

  ChangeQuery future;
  future.since_ms = (*changes)[3].resource.last_updated_ms + 60'000;
  auto none = store_->Changes(future);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  ChangeQuery hostile;
  hostile.types = {"Patient') OR 1=1 --"};
  auto hostile_result = store_->Changes(hostile);
  ASSERT_TRUE(hostile_result.ok()) << hostile_result.status();
  EXPECT_TRUE(hostile_result->empty());
}

TEST_P(StoreContractTest, SearchByTypeIdsAndDeleted) {
  for (const char* id : {"c", "a", "b", "d"}) MustPut(FhirPut("Patient", id, PatientBody(id)));
  MustPut(FhirPut("Observation", "o1", R"({"resourceType":"Observation"})"));
  ASSERT_TRUE(store_->Delete("Patient", "d").ok());

  SearchQuery query;
  query.type = "Patient";
  auto live = store_->Search(query);
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(live->total, 3);
  ASSERT_EQ(live->resources.size(), 3u);
  EXPECT_EQ(live->resources[0].id, "a");
  EXPECT_EQ(live->resources[2].id, "c");
  EXPECT_THAT(live->resources[1].body, HasSubstr(R"("family":"b")"));

  query.include_deleted = true;
  query.offset = 1;
  query.limit = 2;
  auto paged = store_->Search(query);
  ASSERT_TRUE(paged.ok()) << paged.status();
  EXPECT_EQ(paged->total, 4);
  ASSERT_EQ(paged->resources.size(), 2u);
  EXPECT_EQ(paged->resources[0].id, "b");
  EXPECT_EQ(paged->resources[1].id, "c");

  SearchQuery by_id;
  by_id.type = "Patient";
  by_id.ids = {"b", "d", "zzz"};
  by_id.include_deleted = true;
  auto ids = store_->Search(by_id);
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_EQ(ids->resources.size(), 2u);
  EXPECT_EQ(ids->resources[1].id, "d");
  EXPECT_TRUE(ids->resources[1].deleted);

  std::int64_t earliest = live->resources[0].last_updated_ms;
  std::int64_t latest = earliest;
  for (const Resource& r : live->resources) {
    earliest = std::min(earliest, r.last_updated_ms);
    latest = std::max(latest, r.last_updated_ms);
  }
  SearchQuery window;
  window.type = "Patient";
  window.updated_to_ms = earliest;  // exclusive
  auto before = store_->Search(window);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->total, 0);
  window.updated_from_ms = earliest;
  window.updated_to_ms = latest + 1;
  auto inside = store_->Search(window);
  ASSERT_TRUE(inside.ok());
  EXPECT_EQ(inside->total, 3);
}

TEST_P(StoreContractTest, SearchPagesByKeysetInByteOrder) {
  // Ids whose byte order differs from a locale's order ("B" < "a" < "b-1"
  // < "b.1" < "b1"), so a backend that sorted by a collation would skip or
  // repeat ids across pages.
  const std::vector<std::string> ids = {"b1", "a", "B", "b.1", "b-1", "gone", "z"};
  for (const std::string& id : ids) MustPut(FhirPut("Patient", id, PatientBody("x")));
  ASSERT_TRUE(store_->Delete("Patient", "gone").ok());
  MustPut(FhirPut("Observation", "a0", R"({"resourceType":"Observation"})"));

  std::vector<std::string> seen;
  SearchQuery page;
  page.type = "Patient";
  page.limit = 2;
  page.with_total = false;
  for (int guard = 0; guard < 10; ++guard) {
    auto got = store_->Search(page);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->total, -1);  // not counted
    for (const Resource& r : got->resources) {
      EXPECT_FALSE(r.deleted);
      EXPECT_THAT(r.body, HasSubstr(R"("versionId":")" + std::to_string(r.version) + "\""));
      seen.push_back(r.id);
    }
    if (got->resources.size() < 2) break;
    page.after_id = got->resources.back().id;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"B", "a", "b-1", "b.1", "b1", "z"}));

  // after_id with a count: the count is of the matches after it.
  SearchQuery counted;
  counted.type = "Patient";
  counted.after_id = "b1";
  auto rest = store_->Search(counted);
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->resources.size(), 1u);
  EXPECT_EQ(rest->resources[0].id, "z");
  EXPECT_EQ(rest->total, 1);
  // A hostile after_id (NUL, past every id) is no error.
  counted.after_id = std::string("b\0zz", 4);
  auto nul = store_->Search(counted);
  ASSERT_TRUE(nul.ok()) << nul.status();
  ASSERT_FALSE(nul->resources.empty());
  EXPECT_EQ(nul->resources[0].id, "b-1");
  counted.after_id = "~~";  // 0x7E: after every character an id may hold
  auto past = store_->Search(counted);
  ASSERT_TRUE(past.ok()) << past.status();
  EXPECT_TRUE(past->resources.empty());
}

TEST_P(StoreContractTest, StatsCountLiveDeletedAndOutbox) {
  MustPut(FhirPut("Patient", "a", PatientBody("a")));
  MustPut(FhirPut("Patient", "b", PatientBody("b")));
  MustPut(FhirPut("Encounter", "e", R"({"resourceType":"Encounter"})"));
  ASSERT_TRUE(store_->Delete("Patient", "b").ok());
  auto stats = store_->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->types.size(), 2u);
  EXPECT_EQ(stats->types[0].type, "Encounter");
  EXPECT_EQ(stats->types[0].live, 1);
  EXPECT_EQ(stats->types[1].type, "Patient");
  EXPECT_EQ(stats->types[1].live, 1);
  EXPECT_EQ(stats->types[1].deleted, 1);
  EXPECT_EQ(stats->last_seq, 4);
  EXPECT_EQ(stats->outbox_pending, 4);
}

TEST_P(StoreContractTest, LocalWritesQueueOutboxParentWritesDoNot) {
  MustPut(FhirPut("Patient", "local", PatientBody("L")));
  WriteOptions from_parent;
  from_parent.from_node = kParent;
  WriteResult pulled = MustPut(FhirPut("Patient", "pulled", PatientBody("P")), from_parent);
  EXPECT_EQ(pulled.seq, 2);
  auto deleted = store_->Delete("Patient", "local", from_parent);
  ASSERT_TRUE(deleted.ok()) << deleted.status();

  auto outbox = store_->PendingOutbox(100);
  ASSERT_TRUE(outbox.ok()) << outbox.status();
  ASSERT_EQ(outbox->size(), 1u);
  EXPECT_EQ((*outbox)[0].seq, 1);
  EXPECT_EQ((*outbox)[0].type, "Patient");
  EXPECT_EQ((*outbox)[0].id, "local");
  EXPECT_EQ((*outbox)[0].version, 1);
  EXPECT_EQ((*outbox)[0].state, "pending");

  auto changes = store_->Changes(ChangeQuery{});
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 3u);
  EXPECT_EQ((*changes)[0].origin, kNode);
  EXPECT_EQ((*changes)[1].origin, kParent);
  EXPECT_EQ((*changes)[2].origin, kParent);
  ExpectIntegrity();
}

TEST_P(StoreContractTest, FailedMultiOpWriteLeavesStoreUnchanged) {
  MustPut(FhirPut("Patient", "keep", PatientBody("Before")));
  Snapshot before = Snap();
  auto kept = store_->Get("Patient", "keep");
  ASSERT_TRUE(kept.ok());

  // A bad third entry caught by validation.
  std::vector<WriteOp> ops = {FhirPut("Patient", "keep", PatientBody("After")),
                              FhirPut("Patient", "new1", PatientBody("N")),
                              FhirPut("Patient", "bad", R"({"resourceType":"Patient",)")};
  auto result = store_->Write(ops, {});
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(),
              AllOf(HasSubstr("entry 3 (Patient/bad)"), HasSubstr("not valid JSON")));
  EXPECT_EQ(Snap(), before);

  // A bad third entry found only inside the transaction, after two entries
  // were applied: the transaction is rolled back.
  ops[2] = FhirPut("Patient", "keep", PatientBody("Conflict"));
  ops[2].expected_version = 1;  // entry 1 made it 2
  result = store_->Write(ops, {});
  EXPECT_EQ(result.status().code(), StatusCode::kAborted);
  EXPECT_THAT(result.status().message(),
              AllOf(HasSubstr("entry 3 (Patient/keep)"), HasSubstr("current version is 2")));
  EXPECT_EQ(Snap(), before);
  auto after = store_->Get("Patient", "keep");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->version, kept->version);
  EXPECT_EQ(after->body, kept->body);
  EXPECT_EQ(store_->Get("Patient", "new1").status().code(), StatusCode::kNotFound);

  // The same ops without the bad one succeed, in order, with dense seqs.
  ops.pop_back();
  auto ok = store_->Write(ops, {});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0].seq, 2);
  EXPECT_EQ((*ok)[1].seq, 3);
  ExpectIntegrity();
}

struct BadInput {
  std::string name;
  WriteOp op;
  StatusCode code;
  std::vector<std::string> words;
};

std::vector<BadInput> BadInputs() {
  auto put = [](std::string type, std::string id, std::string body) {
    return FhirPut(std::move(type), std::move(id), std::move(body));
  };
  WriteOp rest_bad_name = put("Bad Name", "x", "{}");
  rest_bad_name.format = ResourceFormat::kOpenmrsRest;
  WriteOp rest_not_object = put("patient", "x", "[1,2]");
  rest_not_object.format = ResourceFormat::kOpenmrsRest;
  WriteOp rest_bad_json = put("patient", "x", "{\"uuid\":");
  rest_bad_json.format = ResourceFormat::kOpenmrsRest;
  return {
      {"bad json", put("Patient", "x", R"({"resourceType":"Patient" "id":"x"})"),
       StatusCode::kInvalidArgument, {"entry 1 (Patient/x)", "not valid JSON"}},
      {"not an object", put("Patient", "x", "[1]"), StatusCode::kInvalidArgument,
       {"not a JSON object"}},
      {"missing resourceType", put("Patient", "x", R"({"id":"x"})"),
       StatusCode::kInvalidArgument, {"entry 1 (Patient/x)", "no resourceType"}},
      {"resourceType not a string", put("Patient", "x", R"({"resourceType":7})"),
       StatusCode::kInvalidArgument, {"resourceType is not a string"}},
      {"odd resourceType", put("Patient", "x", R"({"resourceType":"pa tient"})"),
       StatusCode::kInvalidArgument, {"pa tient", "not a FHIR type name"}},
      {"type mismatch", put("Patient", "x", R"({"resourceType":"Observation"})"),
       StatusCode::kInvalidArgument, {"Observation", "does not match the type", "Patient"}},
      {"id mismatch", put("Patient", "x", R"({"resourceType":"Patient","id":"y"})"),
       StatusCode::kInvalidArgument, {"body id 'y'", "does not match the id 'x'"}},
      {"bad type name", put("patient;drop", "x", R"({"resourceType":"Patient"})"),
       StatusCode::kInvalidArgument, {"not a FHIR type name"}},
      {"path id", put("Patient", "../x", PatientBody("E")), StatusCode::kInvalidArgument,
       {"id '../x'", "not allowed"}},
      {"quote id", put("Patient", "a'b;DROP TABLE changes", PatientBody("E")),
       StatusCode::kInvalidArgument, {"id 'a\\x27b;DROP", "not allowed"}},
      {"long id", put("Patient", std::string(65, 'a'), PatientBody("E")),
       StatusCode::kInvalidArgument, {"65 characters", "at most 64"}},
      {"control bytes id", put("Patient", std::string("a\x01\n", 3), PatientBody("E")),
       StatusCode::kInvalidArgument, {"a\\x01\\x0a", "not allowed"}},
      {"delete without id", FhirDelete("Patient", ""), StatusCode::kInvalidArgument,
       {"a delete needs an id"}},
      {"delete hostile id", FhirDelete("Patient", "../../etc"), StatusCode::kInvalidArgument,
       {"not allowed"}},
      {"rest bad name", rest_bad_name, StatusCode::kInvalidArgument,
       {"OpenMRS resource name 'Bad Name'"}},
      {"rest not object", rest_not_object, StatusCode::kInvalidArgument,
       {"entry 1 (patient/x)", "not a JSON object"}},
      {"rest bad json", rest_bad_json, StatusCode::kInvalidArgument, {"not valid JSON"}},
  };
}

TEST_P(StoreContractTest, EachBadInputIsRejectedByNameAndChangesNothing) {
  MustPut(FhirPut("Patient", "x", PatientBody("Original")));
  auto original = store_->Get("Patient", "x");
  ASSERT_TRUE(original.ok());
  Snapshot before = Snap();
  for (const BadInput& bad : BadInputs()) {
    SCOPED_TRACE(bad.name);
    auto result = store_->Put(bad.op);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), bad.code) << result.status();
    for (const std::string& word : bad.words) {
      EXPECT_THAT(result.status().message(), HasSubstr(word));
    }
    EXPECT_EQ(Snap(), before);
  }
  auto after = store_->Get("Patient", "x");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->body, original->body);
  ExpectIntegrity();
}

TEST_P(StoreContractTest, OversizeBodyOverConfiguredCapIsResourceExhausted) {
  store_.reset();
  store_ = Open(kNode, /*max_body_bytes=*/256);
  ASSERT_NE(store_, nullptr);
  Snapshot before = Snap();
  auto result = store_->Put(FhirPut("Patient", "big", PatientBody(std::string(300, 'x'))));
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(result.status().message(),
              AllOf(HasSubstr("entry 1 (Patient/big)"), HasSubstr("over the cap of 256"),
                    HasSubstr("store.max_body_bytes")));
  WriteOp rest = FhirPut("patient", "big", "{\"a\":\"" + std::string(300, 'x') + "\"}");
  rest.format = ResourceFormat::kOpenmrsRest;
  result = store_->Put(rest);
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(Snap(), before);
}

TEST_P(StoreContractTest, HostileIdsInReadsAreJustNotFound) {
  MustPut(FhirPut("Patient", "p1", PatientBody("A")));
  for (const std::string& id : {std::string("p1' OR '1'='1"), std::string("p1\"; --"),
                                std::string("%"), std::string("p1\0x", 4)}) {
    auto got = store_->Get("Patient", id);
    EXPECT_EQ(got.status().code(), StatusCode::kNotFound) << got.status();
    EXPECT_EQ(store_->History("Patient", id).status().code(), StatusCode::kNotFound);
  }
  SearchQuery query;
  query.type = "Patient";
  query.ids = {"x' OR 1=1 --"};
  auto search = store_->Search(query);
  ASSERT_TRUE(search.ok()) << search.status();
  EXPECT_EQ(search->total, 0);
}

TEST_P(StoreContractTest, OpenmrsRestBodiesAreStoredVerbatim) {
  const std::string body = R"({"uuid":"abc","display":"Ward 1",  "tags":[]})";
  WriteOp op = FhirPut("location", "abc", body);
  op.format = ResourceFormat::kOpenmrsRest;
  WriteResult put = MustPut(op);
  EXPECT_EQ(put.version, 1);
  auto got = store_->Get("location", "abc");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->body, body);
  EXPECT_EQ(got->format, ResourceFormat::kOpenmrsRest);
  EXPECT_EQ(got->content_hash.size(), 64u);
  EXPECT_FALSE(MustPut(op).changed);
}

TEST_P(StoreContractTest, ImportCommitsBatchesAndNamesTheFailingOne) {
  std::vector<WriteOp> ops;
  for (int i = 0; i < 250; ++i) {
    ops.push_back(FhirPut("Patient", "p" + std::to_string(i), PatientBody("F" + std::to_string(i))));
  }
  auto summary = store_->Import(ops, {}, 100);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->written, 250);
  EXPECT_EQ(summary->unchanged, 0);
  auto again = store_->Import(ops, {}, 100);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->written, 0);
  EXPECT_EQ(again->unchanged, 250);

  std::vector<WriteOp> more;
  for (int i = 0; i < 250; ++i) {
    more.push_back(FhirPut("Patient", "q" + std::to_string(i), PatientBody("G")));
  }
  more[149].body = "{oops";
  auto failed = store_->Import(more, {}, 100);
  EXPECT_EQ(failed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(failed.status().message(),
              AllOf(HasSubstr("import batch 2 (entries 101-200)"),
                    HasSubstr("entry 150 (Patient/q149)"), HasSubstr("not valid JSON")));
  auto last = store_->LastSeq();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 350);  // batch 1 of the second import stayed
  EXPECT_TRUE(store_->Get("Patient", "q99").ok());
  EXPECT_EQ(store_->Get("Patient", "q100").status().code(), StatusCode::kNotFound);
  ExpectIntegrity();
}

// A batch larger than the import's pipeline unit (1,000 ops) is still one
// transaction: a resource written in two of its parts gets consecutive
// versions, and a bad entry in a later part leaves the earlier parts of the
// same batch unwritten.
TEST_P(StoreContractTest, ImportBatchLargerThanThePipelineUnitIsOneTransaction) {
  std::vector<WriteOp> ops;
  for (int i = 0; i < 2500; ++i) {
    ops.push_back(FhirPut("Patient", "p" + std::to_string(i), PatientBody("F")));
  }
  ops[1700] = FhirPut("Patient", "p5", PatientBody("Again"));  // p5 is entry 6
  auto summary = store_->Import(ops, {}, 5000);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->written, 2500);
  auto again = store_->Get("Patient", "p5");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->version, 2);
  EXPECT_THAT(again->body, HasSubstr("Again"));
  EXPECT_EQ(store_->Get("Patient", "p1700").status().code(), StatusCode::kNotFound);

  std::vector<WriteOp> more;
  for (int i = 0; i < 2500; ++i) {
    more.push_back(FhirPut("Patient", "q" + std::to_string(i), PatientBody("G")));
  }
  more[2200].body = "{oops";
  auto failed = store_->Import(more, {}, 5000);
  EXPECT_EQ(failed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(failed.status().message(),
              AllOf(HasSubstr("import batch 1 (entries 1-2500)"),
                    HasSubstr("entry 2201 (Patient/q2200)"), HasSubstr("not valid JSON")));
  auto last = store_->LastSeq();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 2500);
  EXPECT_EQ(store_->Get("Patient", "q0").status().code(), StatusCode::kNotFound);
  ExpectIntegrity();
}

// An import over a store that holds some of its resources finds each one's
// current version, whichever way the backend looks it up (SQLite assumes a
// resource new and lets the insert find out): unchanged content is a no-op,
// changed content the next version, a deleted resource comes back as a
// create after its tombstone, a create-only put of an existing resource is
// a conflict, and new resources start at version 1. Existing and new
// resources alternate, then a long run of existing ones follows.
TEST_P(StoreContractTest, ImportOverExistingResourcesFindsEachCurrentVersion) {
  std::vector<WriteOp> first;
  for (int i = 0; i < 120; ++i) {
    first.push_back(FhirPut("Patient", "old" + std::to_string(i), PatientBody("Old")));
  }
  ASSERT_TRUE(store_->Write(first, {}).ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store_->Delete("Patient", "old" + std::to_string(i)).ok());
  }

  std::vector<WriteOp> ops;
  for (int i = 0; i < 60; ++i) {
    ops.push_back(FhirPut("Patient", "new" + std::to_string(i), PatientBody("New")));
    // old0-9 deleted, odd ones changed, even ones as they are.
    ops.push_back(FhirPut("Patient", "old" + std::to_string(i),
                          PatientBody(i < 10 || i % 2 == 1 ? "Changed" : "Old")));
  }
  for (int i = 60; i < 120; ++i) {
    ops.push_back(FhirPut("Patient", "old" + std::to_string(i), PatientBody("Old")));
  }
  auto summary = store_->Import(ops, {}, 1000);
  ASSERT_TRUE(summary.ok()) << summary.status();
  // Written: 60 new, 10 recreated, 25 changed (odd of 10-59).
  EXPECT_EQ(summary->written, 95);
  EXPECT_EQ(summary->unchanged, 85);

  auto expect = [&](const std::string& id, std::int64_t version, const std::string& family) {
    auto got = store_->Get("Patient", id);
    ASSERT_TRUE(got.ok()) << id << ": " << got.status();
    EXPECT_EQ(got->version, version) << id;
    EXPECT_THAT(got->body, HasSubstr(family)) << id;
  };
  expect("new0", 1, "New");
  expect("new59", 1, "New");
  expect("old3", 3, "Changed");
  expect("old11", 2, "Changed");
  expect("old12", 1, "Old");
  expect("old119", 1, "Old");
  auto recreated = store_->History("Patient", "old3");
  ASSERT_TRUE(recreated.ok()) << recreated.status();
  ASSERT_EQ(recreated->size(), 3u);
  EXPECT_TRUE((*recreated)[1].deleted);

  WriteOp create_only = FhirPut("Patient", "old50", PatientBody("Again"));
  create_only.expected_version = 0;
  std::vector<WriteOp> conflict = {FhirPut("Patient", "new100", PatientBody("New")), create_only};
  auto refused = store_->Import(conflict, {}, 10);
  EXPECT_EQ(refused.status().code(), StatusCode::kAborted);
  EXPECT_THAT(refused.status().message(),
              AllOf(HasSubstr("entry 2 (Patient/old50)"), HasSubstr("expected version 0")));
  EXPECT_EQ(store_->Get("Patient", "new100").status().code(), StatusCode::kNotFound);
  ExpectIntegrity();
}

// One import batch writes every kind of row at once (the backends write a
// batch with one statement per table, PostgreSQL passing the rows as JSON):
// bodies with quotes, backslashes, escapes and non-ASCII text come back
// byte for byte, a resource written twice in the batch points at its newer
// version, and each outbox row takes its base from the agreed sync state.
TEST_P(StoreContractTest, ImportBatchKeepsBodiesVersionsAndOutboxBases) {
  PullPage page;
  page.parent_node_id = kParent;
  page.feed = "atom";
  page.position = "1";
  PulledResource pulled;
  pulled.type = "Patient";
  pulled.id = "agreed";
  pulled.remote_version = "7";
  pulled.body = PatientBody("Parent", "agreed");
  page.resources.push_back(pulled);
  auto applied = store_->ApplyPull(page);
  ASSERT_TRUE(applied.ok()) << applied.status();

  const std::string tricky_family =
      R"(O'Brien \"Quote\" back\\slash tab\t nul\u0000 \u00e9t\u00e9 日本 🙂 \/ end)";
  WriteOp rest = FhirPut("location", "loc-1", "{ \"uuid\" : \"loc-1\", \"name\":\"\\u00e9\" }");
  rest.format = ResourceFormat::kOpenmrsRest;
  std::vector<WriteOp> ops = {
      FhirPut("Patient", "twice", PatientBody("First")),
      FhirPut("Patient", "tricky", PatientBody(tricky_family)),
      FhirPut("Patient", "agreed", PatientBody("Local edit", "agreed")),
      rest,
      FhirPut("Patient", "twice", PatientBody("Second")),
  };
  auto summary = store_->Import(ops, {}, 100);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->written, 5);

  auto tricky = store_->Get("Patient", "tricky");
  ASSERT_TRUE(tricky.ok()) << tricky.status();
  // The stored body is the parsed and re-serialised JSON: the same
  // characters, with escapes where JSON needs them.
  EXPECT_THAT(tricky->body,
              HasSubstr(R"("family":"O'Brien \"Quote\" back\\slash tab\t nul\u0000 été 日本 🙂 / end")"));
  auto location = store_->Get("location", "loc-1");
  ASSERT_TRUE(location.ok()) << location.status();
  EXPECT_EQ(location->body, rest.body);

  auto twice = store_->Get("Patient", "twice");
  ASSERT_TRUE(twice.ok()) << twice.status();
  EXPECT_EQ(twice->version, 2);
  EXPECT_THAT(twice->body, HasSubstr("Second"));
  auto history = store_->History("Patient", "twice");
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 2u);
  EXPECT_THAT((*history)[1].body, HasSubstr("First"));

  auto outbox = store_->ListOutbox(OutboxQuery{});
  ASSERT_TRUE(outbox.ok()) << outbox.status();
  ASSERT_EQ(outbox->size(), 5u);
  std::set<std::string> correlation_ids;
  for (const OutboxItem& item : *outbox) {
    EXPECT_EQ(item.base_remote_version, item.id == "agreed" ? "7" : "")
        << item.type << "/" << item.id;
    EXPECT_EQ(item.correlation_id.size(), 36u);
    correlation_ids.insert(item.correlation_id);
  }
  EXPECT_EQ(correlation_ids.size(), 5u);
  EXPECT_EQ((*outbox)[0].id, "twice");
  EXPECT_EQ((*outbox)[0].version, 1);
  EXPECT_EQ((*outbox)[4].id, "twice");
  EXPECT_EQ((*outbox)[4].version, 2);
  ExpectIntegrity();
}

TEST_P(StoreContractTest, ConcurrentWritersGetDenseSeqs) {
  constexpr int kThreads = 4;
  constexpr int kWritesPerThread = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWritesPerThread; ++i) {
        // Updates of a few shared resources and creates of own ones.
        std::string id = i % 2 ? "shared" + std::to_string(i % 3)
                               : "t" + std::to_string(t) + "-" + std::to_string(i);
        auto result = store_->Put(FhirPut(
            "Patient", id, PatientBody("w" + std::to_string(t) + "x" + std::to_string(i))));
        if (!result.ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto changes = store_->Changes([] { ChangeQuery q; q.limit = 10000; return q; }());
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), static_cast<std::size_t>(kThreads * kWritesPerThread));
  for (std::size_t i = 0; i < changes->size(); ++i) {
    ASSERT_EQ((*changes)[i].seq, static_cast<std::int64_t>(i + 1));
  }
  ExpectIntegrity();
}

TEST_P(StoreContractTest, ReopenKeepsDataAndRefusesAnotherNode) {
  MustPut(FhirPut("Patient", "p1", PatientBody("Kept")));
  store_.reset();
  store_ = Open(kNode);
  ASSERT_NE(store_, nullptr);
  auto got = store_->Get("Patient", "p1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(got->body, HasSubstr("Kept"));
  WriteResult next = MustPut(FhirPut("Patient", "p2", PatientBody("Next")));
  EXPECT_EQ(next.seq, 2);

  auto other = OpenLocalStore(Config(), dir_.path(), "node-b");
  EXPECT_EQ(other.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(other.status().message(),
              AllOf(HasSubstr("belongs to node 'node-a'"), HasSubstr("not 'node-b'")));
  ExpectIntegrity();
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest,
                         ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace fhirsync
