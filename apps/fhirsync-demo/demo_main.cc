// fhirsync-demo: the story of the disconnected client, told by real
// processes on 127.0.0.1 (DemoNetwork): a parent and two tablets, each step
// checked by reading the nodes back with the commands a person would run.
//
// `fhirsync demo` runs this program, which sits beside the fhirsync program
// (apps/fhirsync/demo_command.cc holds the story's help text). It is no part
// of the product's libraries: it drives the `fhirsync` program and reads and
// writes node configuration through the public framework API
// (fhirsync/config.h).

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "demo_network.h"
#include "fhirsync/local_store.h"  // kOutboxPending, kOutboxDead: the states `outbox --json` prints

namespace fhirsync::demo {
namespace {

constexpr char kUsage[] =
    "usage: fhirsync-demo [--keep] [--json] [--fhirsync PROGRAM]\n"
    "\n"
    "The story `fhirsync demo` tells (see `fhirsync demo --help`). PROGRAM is the\n"
    "fhirsync program whose commands the story runs (default: the fhirsync\n"
    "beside this program).\n";

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr auto kStepTimeout = std::chrono::seconds(30);

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

using Fact = std::variant<std::int64_t, std::string, bool>;

struct StepOutcome {
  int step = 0;
  std::string name;
  bool ok = false;
  std::string detail;  // what happened, one sentence
  std::vector<std::string> see;  // commands to see it yourself
  std::vector<std::pair<std::string, Fact>> facts;
  double seconds = 0;
};

StepOutcome NewStep(int step, std::string name) {
  StepOutcome outcome;
  outcome.step = step;
  outcome.name = std::move(name);
  return outcome;
}

rapidjson::Document ParseJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  if (doc.HasParseError()) doc.SetNull();
  return doc;
}

std::string StringMember(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return "";
  auto it = object.FindMember(name);
  return it != object.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

// The demo's patients, as FHIR JSON.
std::string PatientJson(const std::string& id, const std::string& family,
                        const std::string& given, const std::string& gender,
                        const std::string& birth_date, const std::string& extra = "") {
  std::string json = R"({"resourceType":"Patient","id":")" + id +
                     R"(","name":[{"family":")" + family + R"(","given":[")" + given +
                     R"("]}],"gender":")" + gender + "\"";
  if (!birth_date.empty()) json += R"(,"birthDate":")" + birth_date + "\"";
  return json + extra + "}";
}

constexpr char kAmina[] = "amina-mensah";
constexpr char kKofi[] = "kofi-boateng";
constexpr char kYaw[] = "yaw-asante";
constexpr char kPhone[] = R"(,"telecom":[{"system":"phone","value":"+233 20 555 0101"}])";
constexpr char kAddress[] = R"(,"address":[{"city":"Tamale"}])";

class DemoStory {
 public:
  DemoStory(DemoNetwork& net, bool narrate) : net_(net), narrate_(narrate) {}

  StepOutcome Setup();
  StepOutcome RegisteredPatientsTravel();
  StepOutcome OfflineTabletKeepsWorking();
  StepOutcome RejectedChangeIsKeptAndMended();
  StepOutcome ConcurrentEditIsMerged();

 private:
  std::string Tablet1() const { return net_.Dir("tablet-1"); }
  std::string Tablet2() const { return net_.Dir("tablet-2"); }
  std::string Parent() const { return net_.Dir("parent"); }

  void Say(const std::string& text) {
    if (narrate_) std::cout << "  " << text << '\n';
  }
  // Writes `json` to records/NAME.json and puts it into `dir`.
  Status PutRecord(const std::string& dir, const std::string& name, const std::string& json) {
    std::filesystem::path file = std::filesystem::path(net_.root()) / "records" / (name + ".json");
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << json << '\n';
    return net_.Show({"put", file.string(), "--dir", dir}).status();
  }
  // What `fhirsync ARGS` printed, parsed as JSON; null when it failed.
  rapidjson::Document RunJson(const std::vector<std::string>& args) {
    StatusOr<ProgramResult> run = net_.Run(args);
    if (!run.ok() || run->exit_code != 0) return rapidjson::Document();
    return ParseJson(run->out);
  }
  // The stored body of Patient/id on the node in `dir`; null when absent.
  rapidjson::Document Patient(const std::string& dir, const std::string& id) {
    return RunJson({"get", "Patient/" + id, "--dir", dir});
  }
  std::string PatientField(const std::string& dir, const std::string& id, const char* field) {
    return StringMember(Patient(dir, id), field);
  }
  bool PatientHas(const std::string& dir, const std::string& id, const char* field) {
    rapidjson::Document doc = Patient(dir, id);
    return doc.IsObject() && doc.HasMember(field);
  }
  // `fhirsync status --json`, which exits 1 when the node is not in step:
  // whether it says in step, and whether it names the problem `code`.
  struct StatusView {
    bool answered = false;
    bool in_sync = false;
    bool names_problem = false;
  };
  StatusView NodeStatus(const std::string& dir, const std::string& code) {
    StatusView view;
    StatusOr<ProgramResult> run = net_.Run({"status", "--json", "--dir", dir});
    if (!run.ok() || (run->exit_code != 0 && run->exit_code != 1)) return view;
    rapidjson::Document doc = ParseJson(run->out);
    if (!doc.IsObject() || !doc.HasMember("in_sync") || !doc["in_sync"].IsBool()) return view;
    view.answered = true;
    view.in_sync = doc["in_sync"].GetBool();
    if (doc.HasMember("problems") && doc["problems"].IsArray()) {
      for (const auto& p : doc["problems"].GetArray()) view.names_problem |= StringMember(p, "code") == code;
    }
    return view;
  }
  // `fhirsync outbox --json`: {items: [...]} (pending and dead).
  rapidjson::Document Outbox(const std::string& dir) {
    return RunJson({"outbox", "--json", "--dir", dir});
  }
  int CountItems(const std::string& dir, const std::string& state) {
    rapidjson::Document outbox = Outbox(dir);
    int n = 0;
    if (!outbox.IsObject() || !outbox.HasMember("items")) return -1;
    for (const auto& item : outbox["items"].GetArray()) n += StringMember(item, "state") == state;
    return n;
  }
  // How many rows of the JSON array `fhirsync ARGS` prints are about `id`;
  // -1 when the command failed.
  int RowsAbout(const std::vector<std::string>& args, const std::string& id) {
    rapidjson::Document rows = RunJson(args);
    if (!rows.IsArray()) return -1;
    int n = 0;
    for (const auto& row : rows.GetArray()) n += StringMember(row, "id") == id;
    return n;
  }
  int OpenConflicts(const std::string& dir, const std::string& id) {
    return RowsAbout({"conflicts", "--json", "--dir", dir}, id);
  }
  int AuditRows(const std::string& dir, const std::string& outcome, const std::string& id) {
    return RowsAbout({"audit", "--status", outcome, "--json", "--dir", dir}, id);
  }
  bool Wait(const std::function<bool()>& done) { return net_.WaitUntil(done, kStepTimeout); }

  DemoNetwork& net_;
  bool narrate_;
};

StepOutcome Failed(StepOutcome outcome, const std::string& detail) {
  outcome.ok = false;
  outcome.detail = g_stop.load() ? "interrupted" : detail;
  return outcome;
}

StepOutcome DemoStory::Setup() {
  StepOutcome out = NewStep(0, "setup");
  RuleConfig rule;
  rule.name = "patient-birth-date";
  rule.type = "Patient";
  rule.required = {"birthDate"};
  rule.message = "the district registry needs a birth date";
  Say("A district parent with a business rule (" + rule.name + ": " + rule.message +
      ") and two tablets, each node its own folder under " + net_.root() + ".");
  if (Status s = net_.StartParent("parent", {rule}, {"tablet-1", "tablet-2"}); !s.ok()) {
    return Failed(out, s.message());
  }
  for (const char* tablet : {"tablet-1", "tablet-2"}) {
    if (Status s = net_.AddTablet(tablet); !s.ok()) return Failed(out, s.message());
  }
  for (const char* tablet : {"tablet-1", "tablet-2"}) {
    if (Status s = net_.GoOnline(tablet); !s.ok()) return Failed(out, s.message());
  }
  out.ok = true;
  out.detail = "a parent at " + net_.parent_url() + " and two tablets syncing every second";
  out.facts.emplace_back("parent_url", net_.parent_url());
  out.facts.emplace_back("folder", net_.root());
  out.see = {"cat " + Parent() + "/fhirsync.json", "cat " + Tablet1() + "/fhirsync.json"};
  return out;
}

StepOutcome DemoStory::RegisteredPatientsTravel() {
  StepOutcome out = NewStep(1, "registered-on-tablet-1-appear-on-tablet-2");
  Say("A nurse registers two patients on tablet 1.");
  Status put = PutRecord(Tablet1(), "amina", PatientJson(kAmina, "Mensah", "Amina", "female",
                                                          "1990-03-14"));
  if (put.ok()) {
    put = PutRecord(Tablet1(), "kofi",
                    PatientJson(kKofi, "Boateng", "Kofi", "male", "1948-07-12"));
  }
  if (!put.ok()) return Failed(out, put.message());
  const bool arrived = Wait([&] {
    return Patient(Tablet2(), kAmina).IsObject() && Patient(Tablet2(), kKofi).IsObject();
  });
  out.facts.emplace_back("on_parent", Patient(Parent(), kKofi).IsObject());
  out.facts.emplace_back("on_tablet_2", arrived);
  if (!arrived) return Failed(out, "the patients did not reach tablet 2 in time");
  out.ok = true;
  out.detail = "tablet 1 pushed both patients to the parent and tablet 2 pulled them";
  out.see = {"fhirsync get Patient/" + std::string(kAmina) + " --dir " + Tablet2(),
             "fhirsync audit --dir " + Tablet2()};
  return out;
}

StepOutcome DemoStory::OfflineTabletKeepsWorking() {
  StepOutcome out = NewStep(2, "offline-tablet-keeps-working");
  Say("Tablet 2 leaves the clinic's network: its sync daemon stops.");
  if (Status s = net_.GoOffline("tablet-2"); !s.ok()) return Failed(out, s.message());
  Say("Offline, tablet 2 registers a new patient, and a clerk clears Kofi's birth date,");
  Say("believing 1948 is wrong (the parent's rule will refuse that).");
  Status put = PutRecord(Tablet2(), "yaw", PatientJson(kYaw, "Asante", "Yaw", "male", "2001-11-30"));
  if (put.ok()) {
    put = PutRecord(Tablet2(), "kofi-no-birth-date",
                    PatientJson(kKofi, "Boateng", "Kofi", "male", ""));
  }
  if (!put.ok()) return Failed(out, "a local write on the offline tablet failed: " + put.message());
  Say("Meanwhile tablet 1 adds Kofi's phone number; the parent accepts it.");
  put = PutRecord(Tablet1(), "kofi-phone",
                  PatientJson(kKofi, "Boateng", "Kofi", "male", "1948-07-12", kPhone));
  if (!put.ok()) return Failed(out, put.message());
  const bool parent_has_phone = Wait([&] { return PatientHas(Parent(), kKofi, "telecom"); });
  if (narrate_) net_.Show({"outbox", "--dir", Tablet2()}).status().IgnoreError();
  const int pending = CountItems(Tablet2(), kOutboxPending);
  const bool yaw_here = Patient(Tablet2(), kYaw).IsObject();
  const bool yaw_upstream = Patient(Parent(), kYaw).IsObject();
  out.facts.emplace_back("local_writes_ok", yaw_here);
  out.facts.emplace_back("pending", static_cast<std::int64_t>(pending));
  out.facts.emplace_back("reached_parent", yaw_upstream);
  out.facts.emplace_back("tablet_1_change_on_parent", parent_has_phone);
  if (!yaw_here || pending != 2 || yaw_upstream || !parent_has_phone) {
    return Failed(out, "expected 2 pending items on the offline tablet and nothing of them on "
                       "the parent; found " + std::to_string(pending) + " pending");
  }
  out.ok = true;
  out.detail = "tablet 2 works offline: 2 local changes wait in its outbox";
  out.see = {"fhirsync outbox --dir " + Tablet2()};
  return out;
}

StepOutcome DemoStory::RejectedChangeIsKeptAndMended() {
  StepOutcome out = NewStep(3, "rejected-change-is-kept-and-mended");
  Say("Tablet 2 comes back online.");
  if (Status s = net_.GoOnline("tablet-2"); !s.ok()) return Failed(out, s.message());
  // The new patient goes through; Kofi's change is refused (422) and
  // dead-lettered; the pull then meets the parent's newer Kofi.
  const bool settled = Wait([&] {
    return Patient(Parent(), kYaw).IsObject() && CountItems(Tablet2(), kOutboxDead) == 1 &&
           OpenConflicts(Tablet2(), kKofi) == 1;
  });
  rapidjson::Document outbox = Outbox(Tablet2());
  std::int64_t dead_seq = 0;
  std::int64_t http_status = 0;
  std::string klass;
  std::string message;
  if (outbox.IsObject() && outbox.HasMember("items")) {
    for (const auto& item : outbox["items"].GetArray()) {
      if (StringMember(item, "state") != kOutboxDead) continue;
      dead_seq = item["seq"].GetInt64();
      http_status = item["http_status"].GetInt64();
      klass = StringMember(item, "class");
      message = StringMember(item, "message");
    }
  }
  const bool kept_local = !PatientHas(Tablet2(), kKofi, "birthDate") &&
                          !PatientHas(Tablet2(), kKofi, "telecom");
  out.facts.emplace_back("http_status", http_status);
  out.facts.emplace_back("class", klass);
  out.facts.emplace_back("rule_named", message.find("patient-birth-date") != std::string::npos);
  out.facts.emplace_back("local_copy_kept", kept_local);
  out.facts.emplace_back("server_copy_kept_beside", OpenConflicts(Tablet2(), kKofi) == 1);
  const StatusView shown = NodeStatus(Tablet2(), "dead-letters");
  out.facts.emplace_back("status_names_dead_letter", shown.answered && !shown.in_sync &&
                                                        shown.names_problem);
  if (!settled || http_status != 422 || klass != "business-rule" || !kept_local) {
    return Failed(out, "expected a 422 business-rule dead letter for Patient/" +
                           std::string(kKofi) + " kept locally; found class '" + klass +
                           "', HTTP " + std::to_string(http_status));
  }
  Say("The parent refused Kofi's change (HTTP 422) and the pull did not hide it: tablet 2");
  if (!shown.names_problem) {
    return Failed(out, "fhirsync status did not name the dead letter on tablet 2");
  }
  Say("still shows its own edit, the parent's copy waits beside it. `status` says what is");
  Say("wrong and how to mend it; the outbox and the conflict list give the details:");
  if (narrate_) {
    net_.Show({"status", "--dir", Tablet2()}).status().IgnoreError();
    net_.Show({"outbox", "--dir", Tablet2()}).status().IgnoreError();
    net_.Show({"conflicts", "--dir", Tablet2()}).status().IgnoreError();
  }
  Say("The operator enters the right birth date (1984, not 1948) and retries.");
  Status fixed = PutRecord(Tablet2(), "kofi-corrected",
                           PatientJson(kKofi, "Boateng", "Kofi", "male", "1984-07-12"));
  if (fixed.ok()) fixed = net_.Show({"retry", std::to_string(dead_seq), "--dir", Tablet2()}).status();
  if (!fixed.ok()) return Failed(out, fixed.message());
  const bool synced = Wait([&] {
    return PatientField(Parent(), kKofi, "birthDate") == "1984-07-12" &&
           PatientField(Tablet1(), kKofi, "birthDate") == "1984-07-12" &&
           PatientHas(Tablet2(), kKofi, "telecom") && CountItems(Tablet2(), kOutboxDead) == 0 &&
           CountItems(Tablet2(), kOutboxPending) == 0 && OpenConflicts(Tablet2(), kKofi) == 0;
  });
  out.facts.emplace_back("parent_birth_date", PatientField(Parent(), kKofi, "birthDate"));
  out.facts.emplace_back("tablet_1_birth_date", PatientField(Tablet1(), kKofi, "birthDate"));
  out.facts.emplace_back("phone_kept", PatientHas(Parent(), kKofi, "telecom"));
  out.facts.emplace_back("dead_letters_left", static_cast<std::int64_t>(CountItems(Tablet2(), kOutboxDead)));
  if (!synced) return Failed(out, "the corrected record did not sync to every node in time");
  const bool in_step = Wait([&] { return NodeStatus(Tablet2(), "").in_sync; });
  out.facts.emplace_back("status_in_sync_after", in_step);
  if (!in_step) return Failed(out, "fhirsync status on tablet 2 did not come back in step");
  out.ok = true;
  out.detail = "the 422 dead letter stayed visible, was corrected and retried, and every node "
               "now has the corrected birth date and tablet 1's phone number";
  out.see = {"fhirsync status --dir " + Tablet2(),
             "fhirsync outbox --all --dir " + Tablet2(),
             "fhirsync audit --dir " + Tablet2() + " --status business-rule",
             "fhirsync get Patient/" + std::string(kKofi) + " --dir " + Tablet1()};
  return out;
}

StepOutcome DemoStory::ConcurrentEditIsMerged() {
  StepOutcome out = NewStep(4, "concurrent-edit-is-merged");
  Say("Both tablets change Amina at the same time, offline from each other: tablet 1");
  Say("adds her phone number, tablet 2 her address.");
  if (Status s = net_.GoOffline("tablet-2"); !s.ok()) return Failed(out, s.message());
  Status put = PutRecord(Tablet1(), "amina-phone", PatientJson(kAmina, "Mensah", "Amina",
                                                                "female", "1990-03-14", kPhone));
  if (put.ok()) {
    put = PutRecord(Tablet2(), "amina-address",
                    PatientJson(kAmina, "Mensah", "Amina", "female", "1990-03-14", kAddress));
  }
  if (!put.ok()) return Failed(out, put.message());
  if (!Wait([&] { return PatientHas(Parent(), kAmina, "telecom"); })) {
    return Failed(out, "tablet 1's change did not reach the parent in time");
  }
  Say("Tablet 1's change reached the parent first; tablet 2 comes back online.");
  if (Status s = net_.GoOnline("tablet-2"); !s.ok()) return Failed(out, s.message());
  auto both = [&](const std::string& dir) {
    return PatientHas(dir, kAmina, "telecom") && PatientHas(dir, kAmina, "address");
  };
  const bool merged = Wait([&] {
    return both(Parent()) && both(Tablet1()) && both(Tablet2()) &&
           CountItems(Tablet2(), kOutboxPending) == 0;
  });
  const int merges = AuditRows(Tablet2(), "merged", kAmina);
  out.facts.emplace_back("merged_on_tablet_2", static_cast<std::int64_t>(merges));
  out.facts.emplace_back("parent_has_both", both(Parent()));
  out.facts.emplace_back("tablet_1_has_both", both(Tablet1()));
  out.facts.emplace_back("tablet_2_has_both", both(Tablet2()));
  out.facts.emplace_back("open_conflicts", static_cast<std::int64_t>(OpenConflicts(Tablet2(), kAmina)));
  if (!merged || merges < 1) {
    return Failed(out, "expected both edits on every node after a merge on tablet 2");
  }
  if (narrate_) net_.Show({"audit", "--status", "merged", "--dir", Tablet2()}).status().IgnoreError();
  out.ok = true;
  out.detail = "the parent answered tablet 2's stale update with a version conflict; tablet 2 "
               "merged the two edits field by field and every node holds both";
  out.see = {"fhirsync get Patient/" + std::string(kAmina) + " --dir " + Tablet1(),
             "fhirsync audit --dir " + Tablet2() + " --status merged"};
  return out;
}

void WriteString(rapidjson::Writer<rapidjson::StringBuffer>& out, std::string_view text) {
  out.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void Report(const StepOutcome& outcome, bool json) {
  if (json) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> out(buffer);
    out.StartObject();
    out.Key("step");
    out.Int(outcome.step);
    out.Key("name");
    WriteString(out, outcome.name);
    out.Key("ok");
    out.Bool(outcome.ok);
    out.Key("seconds");
    out.Double(outcome.seconds);
    out.Key("detail");
    WriteString(out, outcome.detail);
    out.Key("see");
    out.StartArray();
    for (const std::string& command : outcome.see) WriteString(out, command);
    out.EndArray();
    for (const auto& [key, value] : outcome.facts) {
      out.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
      if (const auto* n = std::get_if<std::int64_t>(&value)) out.Int64(*n);
      if (const auto* s = std::get_if<std::string>(&value)) WriteString(out, *s);
      if (const auto* b = std::get_if<bool>(&value)) out.Bool(*b);
    }
    out.EndObject();
    std::cout << buffer.GetString() << std::endl;
    return;
  }
  std::cout << (outcome.ok ? "  ok: " : "  FAILED: ") << outcome.detail << " ("
            << static_cast<int>(outcome.seconds * 10) / 10.0 << " s)\n";
  for (const std::string& command : outcome.see) std::cout << "  see it: " << command << '\n';
  std::cout << std::endl;
}

// The fhirsync program beside this one; empty when this program's own path
// is unknown.
std::string FhirsyncBesideThisProgram() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : (self.parent_path() / "fhirsync").string();
}

int Fail(const std::string& message) {
  std::cerr << "fhirsync-demo: " << message << '\n';
  return kExitFailure;
}

int UsageError(const std::string& message) {
  std::cerr << "fhirsync-demo: " << message << "\n" << kUsage;
  return kExitUsage;
}

int RunDemo(int argc, char** argv) {
  bool keep = false;
  bool json = false;
  std::string program;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return kExitOk;
    } else if (arg == "--keep") {
      keep = true;
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--fhirsync" && i + 1 < argc) {
      program = argv[++i];
    } else if (arg.rfind("--fhirsync=", 0) == 0) {
      program = std::string(arg.substr(std::string_view("--fhirsync=").size()));
    } else {
      return UsageError("unexpected argument '" + std::string(arg) + "'");
    }
  }
  if (program.empty()) program = FhirsyncBesideThisProgram();
  if (program.empty() || access(program.c_str(), X_OK) != 0) {
    return Fail("cannot run the fhirsync program '" + program +
                "' (name it with --fhirsync PROGRAM)");
  }

  std::error_code ec;
  std::filesystem::path base = std::filesystem::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string pattern = (base / "fhirsync-demo.XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return Fail("cannot create a folder in " + base.string());
  }
  const std::string root = pattern;

  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a child that exits before reading its input

  bool all_ok = true;
  int processes_stopped = 0;
  bool graceful = true;
  {
    DemoNetwork net(program, root, json ? nullptr : &std::cout, &g_stop);
    DemoStory story(net, !json);
    using Step = StepOutcome (DemoStory::*)();
    const std::pair<const char*, Step> steps[] = {
        {"Setting up", &DemoStory::Setup},
        {"1. Patients registered on tablet 1 appear on tablet 2",
         &DemoStory::RegisteredPatientsTravel},
        {"2. Tablet 2 goes offline and keeps working", &DemoStory::OfflineTabletKeepsWorking},
        {"3. A change the parent refuses is kept, shown, mended and synced",
         &DemoStory::RejectedChangeIsKeptAndMended},
        {"4. A concurrent edit is merged", &DemoStory::ConcurrentEditIsMerged},
    };
    for (const auto& [title, step] : steps) {
      if (!json) std::cout << "== " << title << '\n';
      const auto started = std::chrono::steady_clock::now();
      StepOutcome outcome = (story.*step)();
      outcome.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      Report(outcome, json);
      if (!outcome.ok) {
        all_ok = false;
        break;
      }
    }
    if (!json) std::cout << "== 5. Stopping every process the demo started\n";
    const auto started = std::chrono::steady_clock::now();
    processes_stopped = net.StopAll(&graceful);
    StepOutcome stop = NewStep(5, "stopped");
    stop.ok = !net.AnyRunning();
    stop.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    stop.detail = "stopped " + std::to_string(processes_stopped) + " processes" +
                  (graceful ? "" : " (some had to be killed)");
    stop.facts.emplace_back("processes_stopped", static_cast<std::int64_t>(processes_stopped));
    stop.facts.emplace_back("graceful", graceful);
    stop.facts.emplace_back("kept", keep);
    stop.facts.emplace_back("folder", root);
    if (keep) {
      stop.detail += "; the nodes are kept in " + root;
      stop.see = {"fhirsync stats --dir " + root + "/parent",
                  "fhirsync audit --dir " + root + "/tablet-2"};
    } else {
      std::filesystem::remove_all(root, ec);
      stop.detail += "; removed " + root;
      stop.facts.emplace_back("removed", !std::filesystem::exists(root));
    }
    Report(stop, json);
    all_ok = all_ok && stop.ok;
  }
  if (!json) {
    std::cout << (all_ok ? "The demo ran every step."
                         : g_stop.load() ? "The demo was interrupted."
                                         : "The demo FAILED (see the step above).")
              << '\n';
  }
  return all_ok ? kExitOk : kExitFailure;
}

}  // namespace
}  // namespace fhirsync::demo

int main(int argc, char** argv) { return fhirsync::demo::RunDemo(argc, argv); }
