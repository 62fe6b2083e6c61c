// The writer process the crash test kills with SIGKILL: it writes to a store
// forever (local puts, writes from the parent, multi-op transactions, some of
// which fail and roll back, deletes and import batches) and prints the
// highest seq of every committed write on stdout, one per line, flushed, so
// the test knows what was acknowledged before the kill.
//
//   crash_writer sqlite PATH NODE_ID
//   crash_writer postgresql CONNECTION NODE_ID

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fhirsync/local_store.h"

namespace {

using fhirsync::WriteOp;

WriteOp Put(const std::string& type, const std::string& id, const std::string& text) {
  WriteOp op;
  op.type = type;
  op.id = id;
  op.body = "{\"resourceType\":\"" + type + "\",\"text\":{\"status\":\"generated\",\"div\":\"" +
            text + "\"}}";
  return op;
}

WriteOp Delete(const std::string& type, const std::string& id) {
  WriteOp op;
  op.kind = WriteOp::Kind::kDelete;
  op.type = type;
  op.id = id;
  return op;
}

void Acknowledge(std::int64_t seq) {
  std::printf("%lld\n", static_cast<long long>(seq));
  std::fflush(stdout);
}

void AcknowledgeResults(const std::vector<fhirsync::WriteResult>& results) {
  std::int64_t highest = 0;
  for (const auto& result : results) highest = std::max(highest, result.seq);
  if (highest > 0) Acknowledge(highest);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: crash_writer sqlite|postgresql PATH|CONNECTION NODE_ID\n");
    return 2;
  }
  fhirsync::StoreConfig config;
  config.backend = argv[1];
  if (config.backend == "sqlite") {
    config.path = argv[2];
  } else {
    config.connection = argv[2];
  }
  auto opened = fhirsync::OpenLocalStore(config, "", argv[3]);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  fhirsync::LocalStore& store = **opened;
  auto last = store.LastSeq();
  if (!last.ok()) return 1;
  std::int64_t round = *last;  // varies content across restarts
  fhirsync::WriteOptions from_parent;
  from_parent.from_node = "parent-node";
  for (;; ++round) {
    const std::string n = std::to_string(round);
    auto local = store.Put(Put("Patient", "p" + std::to_string(round % 40), "local " + n));
    if (local.ok()) Acknowledge(local->seq);

    auto pulled =
        store.Put(Put("Observation", "o" + std::to_string(round % 25), "pulled " + n), from_parent);
    if (pulled.ok()) Acknowledge(pulled->seq);

    // A multi-op transaction; every fifth one fails on its last entry (a
    // conflicting expected version) after the others were applied.
    std::vector<WriteOp> ops = {Put("Encounter", "e" + n, "enc " + n),
                                Put("Patient", "m" + std::to_string(round % 15), "multi " + n),
                                Delete("Patient", "p" + std::to_string((round + 7) % 40))};
    if (round % 5 == 0) {
      ops.push_back(Put("Patient", "m0", "conflict"));
      ops.back().expected_version = 1'000'000;
    }
    auto multi = store.Write(ops, round % 3 == 0 ? from_parent : fhirsync::WriteOptions{});
    if (multi.ok()) AcknowledgeResults(*multi);

    if (round % 10 == 0) {
      std::vector<WriteOp> batch;
      for (int i = 0; i < 60; ++i) {
        batch.push_back(Put("Condition", "c" + std::to_string(i), "import " + n));
      }
      auto imported = store.Import(batch, {}, 25);
      if (imported.ok()) {
        auto seq = store.LastSeq();
        if (seq.ok()) Acknowledge(*seq);
      }
    }
  }
}
