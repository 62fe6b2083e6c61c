// SyncResourceManager's routing rules on in-process fake plugins.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "fhirsync/sync_resource_manager.h"
#include "test_files.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;
using Op = TransportOperation;

class FakeTransport : public TransportPlugin {
 public:
  explicit FakeTransport(TransportCapabilities caps) : caps_(std::move(caps)) {}
  Status Configure(const TransportSettings&) override { return Status(); }
  TransportCapabilities GetCapabilities() const override { return caps_; }

 private:
  TransportCapabilities caps_;
};

LoadedPlugin Fake(const std::string& name, std::vector<std::string> types, std::vector<Op> ops,
                  std::vector<ResourceFormat> formats, int priority = 0) {
  TransportCapabilities caps;
  caps.resource_types = std::move(types);
  caps.operations = std::move(ops);
  caps.formats = std::move(formats);
  caps.priority = priority;
  LoadedPlugin plugin;
  plugin.info.name = name;
  plugin.info.file = "fake:" + name;
  plugin.transport = std::make_shared<FakeTransport>(caps);
  return plugin;
}

const std::vector<Op> kAll(std::begin(kAllTransportOperations), std::end(kAllTransportOperations));
constexpr ResourceFormat kFhir = ResourceFormat::kFhirJson;
constexpr ResourceFormat kRest = ResourceFormat::kOpenmrsRest;

std::vector<LoadedPlugin> Plugins(std::vector<LoadedPlugin> list) { return list; }

std::string RouteOf(const SyncResourceManager& manager, const std::string& type, Op op) {
  StatusOr<Route> route = manager.Find(type, op);
  return route.ok() ? route->plugin : "error: " + route.status().message();
}

TEST(RoutingTest, FhirAndRestPluginsSplitTypesByFormat) {
  auto manager = SyncResourceManager::Create(
      Plugins({Fake("fhir", {"*"}, kAll, {kFhir}), Fake("openmrs-rest", {"*"}, kAll, {kRest})}),
      {}, {});
  ASSERT_TRUE(manager.ok()) << manager.status();
  EXPECT_EQ(RouteOf(**manager, "Patient", Op::kRead), "fhir");
  EXPECT_EQ(RouteOf(**manager, "Observation", Op::kUpdate), "fhir");
  EXPECT_EQ(RouteOf(**manager, "visittype", Op::kRead), "openmrs-rest");
  EXPECT_EQ(RouteOf(**manager, "encounter_role", Op::kCreate), "openmrs-rest");
}

TEST(RoutingTest, HighestPriorityWins) {
  auto manager = SyncResourceManager::Create(
      Plugins({Fake("low", {"*"}, kAll, {kFhir}, 1), Fake("high", {"Patient"}, kAll, {kFhir}, 5)}),
      {}, {});
  ASSERT_TRUE(manager.ok()) << manager.status();
  EXPECT_EQ(RouteOf(**manager, "Patient", Op::kRead), "high");
  EXPECT_EQ(RouteOf(**manager, "Encounter", Op::kRead), "low");
}

TEST(RoutingTest, AWildcardAtHigherPriorityBeatsANamedClaim) {
  auto manager = SyncResourceManager::Create(
      Plugins({Fake("named", {"Patient"}, kAll, {kFhir}, 1), Fake("any", {"*"}, kAll, {kFhir}, 2)}),
      {}, {});
  ASSERT_TRUE(manager.ok()) << manager.status();
  EXPECT_EQ(RouteOf(**manager, "Patient", Op::kRead), "any");
}

TEST(RoutingTest, EachOperationRoutesOnItsOwn) {
  auto manager = SyncResourceManager::Create(
      Plugins({Fake("reader", {"Patient"}, {Op::kRead, Op::kReadMany}, {kFhir}, 9),
               Fake("writer", {"Patient"}, {Op::kCreate, Op::kUpdate}, {kFhir}, 1)}),
      {}, {});
  ASSERT_TRUE(manager.ok()) << manager.status();
  EXPECT_EQ(RouteOf(**manager, "Patient", Op::kReadMany), "reader");
  EXPECT_EQ(RouteOf(**manager, "Patient", Op::kUpdate), "writer");
  EXPECT_EQ(RouteOf(**manager, "Patient", Op::kDelete),
            "error: no plugin carries Patient (fhir+json) for delete (loaded: reader, writer)");
}

TEST(RoutingTest, ExplicitRouteBeatsPriority) {
  auto manager = SyncResourceManager::Create(
      Plugins({Fake("fhir", {"*"}, kAll, {kFhir}, 10), Fake("folder", {"*"}, kAll, {kFhir, kRest})}),
      {{"Patient", "folder"}}, {});
  ASSERT_TRUE(manager.ok()) << manager.status();
  EXPECT_EQ(RouteOf(**manager, "Patient", Op::kUpdate), "folder");
  EXPECT_EQ(RouteOf(**manager, "Encounter", Op::kUpdate), "fhir");
}

TEST(RoutingTest, ExplicitRouteDoesNotFallBackForOperationsThePluginLacks) {
  auto manager = SyncResourceManager::Create(
      Plugins({Fake("fhir", {"*"}, kAll, {kFhir}), Fake("ro", {"Patient"}, {Op::kRead}, {kFhir})}),
      {{"Patient", "ro"}}, {});
  ASSERT_TRUE(manager.ok()) << manager.status();
  EXPECT_EQ(RouteOf(**manager, "Patient", Op::kRead), "ro");
  EXPECT_EQ(RouteOf(**manager, "Patient", Op::kCreate),
            "error: plugins.routes sends Patient to plugin 'ro', which does not support create");
}

TEST(RoutingTest, SamePriorityIsAnAmbiguityNamingTypeAndPlugins) {
  auto manager = SyncResourceManager::Create(
      Plugins({Fake("a", {"Patient"}, kAll, {kFhir}, 3), Fake("b", {"Patient", "Encounter"}, kAll,
                                                               {kFhir}, 3)}),
      {}, {});
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(manager.status().message(),
            "Patient (fhir+json) read is claimed by plugins 'a' and 'b' at the same priority 3; "
            "add a route in plugins.routes or give one a higher priority");
}

TEST(RoutingTest, TwoWildcardsAtOnePriorityAreAmbiguous) {
  auto manager = SyncResourceManager::Create(
      Plugins({Fake("fhir", {"*"}, kAll, {kFhir}), Fake("folder", {"*"}, kAll, {kFhir, kRest})}),
      {}, {});
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.status().message(),
            "* (fhir+json) read is claimed by plugins 'fhir' and 'folder' at the same priority 0; "
            "add a route in plugins.routes or give one a higher priority");
}

TEST(RoutingTest, ARouteResolvesAnAmbiguityForItsType) {
  auto manager = SyncResourceManager::Create(
      Plugins({Fake("a", {"Patient"}, kAll, {kFhir}), Fake("b", {"Patient"}, kAll, {kFhir})}),
      {{"Patient", "b"}}, {});
  ASSERT_TRUE(manager.ok()) << manager.status();
  EXPECT_EQ(RouteOf(**manager, "Patient", Op::kRead), "b");
}

TEST(RoutingTest, TwoPluginsWithOneName) {
  auto manager = SyncResourceManager::Create(
      Plugins({Fake("fhir", {"*"}, kAll, {kFhir}), Fake("fhir", {"*"}, kAll, {kRest})}), {}, {});
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(manager.status().message(), "two plugins are named 'fhir': fake:fhir and fake:fhir");
}

TEST(RoutingTest, RequiredTypeNobodyCarriesStopsStartUp) {
  RoutingRequirements needs{{"Patient", "visittype"}, {Op::kRead, Op::kCreate}};
  auto manager =
      SyncResourceManager::Create(Plugins({Fake("fhir", {"*"}, kAll, {kFhir})}), {}, needs);
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(manager.status().message(),
            "no plugin carries visittype (openmrs-rest) for read (loaded: fhir)");
}

TEST(RoutingTest, RequiredOperationMissingStopsStartUp) {
  RoutingRequirements needs{{"Patient"}, {Op::kRead, Op::kUpdate}};
  auto manager = SyncResourceManager::Create(
      Plugins({Fake("ro", {"Patient"}, {Op::kRead}, {kFhir})}), {}, needs);
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.status().message(),
            "no plugin carries Patient (fhir+json) for update (loaded: ro)");
}

TEST(RoutingTest, RequirementsMetByWildcard) {
  RoutingRequirements needs{{"Patient", "visittype"}, {Op::kRead, Op::kCreate, Op::kUpdate}};
  auto manager = SyncResourceManager::Create(
      Plugins({Fake("fhir", {"*"}, kAll, {kFhir}), Fake("rest", {"visittype"}, kAll, {kRest})}),
      {}, needs);
  ASSERT_TRUE(manager.ok()) << manager.status();
}

TEST(RoutingTest, RouteToUnknownPlugin) {
  auto manager = SyncResourceManager::Create(Plugins({Fake("fhir", {"*"}, kAll, {kFhir})}),
                                             {{"Patient", "fihr"}}, {});
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(manager.status().message(), "plugins.routes.Patient: no plugin named 'fihr' is loaded");
}

TEST(RoutingTest, RouteToPluginOfTheWrongFormat) {
  auto manager = SyncResourceManager::Create(Plugins({Fake("rest", {"*"}, kAll, {kRest})}),
                                             {{"Patient", "rest"}}, {});
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(manager.status().message(),
            "plugins.routes.Patient: plugin 'rest' does not carry Patient (fhir+json)");
}

TEST(RoutingTest, RouteForAHostileTypeName) {
  auto manager = SyncResourceManager::Create(Plugins({Fake("fhir", {"*"}, kAll, {kFhir})}),
                                             {{"Pa tient\n", "fhir"}}, {});
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.status().message(),
            "plugins.routes.Pa tient\\x0a: 'Pa tient\\x0a' is neither a FHIR type nor an OpenMRS "
            "resource name");
}

TEST(RoutingTest, PluginDeclaringNothingIsRefused) {
  auto manager = SyncResourceManager::Create(Plugins({Fake("empty", {}, kAll, {kFhir})}), {}, {});
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.status().message(), "plugin 'empty' (fake:empty) declares no resource types");
  manager = SyncResourceManager::Create(Plugins({Fake("bad", {"not a type"}, kAll, {kFhir})}), {},
                                        {});
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.status().message(),
            "plugin 'bad' (fake:bad) declares resource type 'not a type', which is neither a "
            "FHIR type nor an OpenMRS resource name");
  manager = SyncResourceManager::Create(Plugins({Fake("noops", {"*"}, {}, {kFhir})}), {}, {});
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.status().message(), "plugin 'noops' (fake:noops) declares no operations");
}

TEST(RoutingTest, FindRejectsHostileTypes) {
  auto manager =
      SyncResourceManager::Create(Plugins({Fake("fhir", {"*"}, kAll, {kFhir})}), {}, {});
  ASSERT_TRUE(manager.ok());
  StatusOr<Route> route = (*manager)->Find("../etc", Op::kRead);
  ASSERT_FALSE(route.ok());
  EXPECT_EQ(route.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(route.status().message(),
            "resource type '../etc' is neither a FHIR type nor an OpenMRS resource name");
}

TEST(RoutingTest, TableListsNamedTypesRoutesAndFallbacks) {
  auto manager = SyncResourceManager::Create(
      Plugins({Fake("fhir", {"*"}, {Op::kRead}, {kFhir}, 2),
               Fake("rest", {"visittype"}, {Op::kRead}, {kRest}, 5),
               Fake("folder", {"*"}, {Op::kRead}, {kFhir, kRest}, 1)}),
      {{"Location", "folder"}}, {});
  ASSERT_TRUE(manager.ok()) << manager.status();
  std::vector<std::string> rows;
  for (const RouteEntry& e : (*manager)->table()) {
    rows.push_back(e.type + " " + std::string(ResourceFormatName(e.format)) + " " +
                   std::string(TransportOperationName(e.operation)) + " -> " + e.plugin + " (" +
                   e.reason + ")");
  }
  EXPECT_EQ(rows, (std::vector<std::string>{
                      "Location fhir+json read -> folder (route)",
                      "visittype openmrs-rest read -> rest (priority 5)",
                      "* fhir+json read -> fhir (priority 2)",
                      "* openmrs-rest read -> folder (priority 1)",
                  }));
  EXPECT_EQ((*manager)->plugins().size(), 3u);
  EXPECT_EQ((*manager)->plugins()[1].capabilities.resource_types,
            std::vector<std::string>{"visittype"});
}

TEST(RoutingTest, RouteKeepsTheTransportAliveAfterTheManager) {
  std::shared_ptr<TransportPlugin> transport;
  {
    auto manager =
        SyncResourceManager::Create(Plugins({Fake("fhir", {"*"}, kAll, {kFhir})}), {}, {});
    ASSERT_TRUE(manager.ok());
    StatusOr<Route> route = (*manager)->Find("Patient", Op::kRead);
    ASSERT_TRUE(route.ok());
    transport = route->transport;
  }
  EXPECT_EQ(transport->GetCapabilities().formats, std::vector<ResourceFormat>{kFhir});
}

// Start(): from a node's config, with the real folder plugin.
TEST(RoutingStartTest, StartsFromNodeConfig) {
  testing::TempDir node;
  testing::TempDir stick;
  NodeConfig config;
  config.node_id = "clinic-1";
  config.parent.url = "file://" + stick.path();
  config.pull.types = {"Patient", "visittype"};
  config.plugins.dir = FHIRSYNC_TESTING_PLUGIN_DIR;  // unused: the file is absolute
  config.plugins.load.push_back({"folder", FHIRSYNC_FOLDER_PLUGIN, false, {}});
  config.plugins.load.push_back({"broken", "testing-toolchain.so", true, {}});
  std::vector<std::string> warnings;
  auto manager = SyncResourceManager::Start(config, node.path(), &warnings);
  ASSERT_TRUE(manager.ok()) << manager.status();
  EXPECT_EQ(RouteOf(**manager, "Patient", Op::kUpdate), "folder");
  EXPECT_EQ(RouteOf(**manager, "visittype", Op::kRead), "folder");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("optional plugin 'broken' skipped: plugin " +
                                     std::string(FHIRSYNC_TESTING_PLUGIN_DIR) +
                                     "/testing-toolchain.so: built with toolchain"));
}

TEST(RoutingStartTest, MissingPasswordFileIsNamed) {
  testing::TempDir node;
  NodeConfig config;
  config.node_id = "clinic-1";
  config.parent.url = "https://parent.example/fhir";
  config.parent.user = "clinic";
  config.parent.password_file = "parent.password";
  auto manager = SyncResourceManager::Start(config, node.path(), nullptr);
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.status().message(),
            "parent.password_file " + node.path() + "/parent.password: cannot read");
}

TEST(RoutingStartTest, SubscribedTypeWithNoPluginStopsStartUp) {
  testing::TempDir node;
  NodeConfig config;
  config.node_id = "clinic-1";
  config.parent.url = "https://parent.example/fhir";
  config.pull.types = {"Patient"};
  auto manager = SyncResourceManager::Start(config, node.path(), nullptr);
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.status().message(),
            "no plugin carries Patient (fhir+json) for read (loaded: none)");
}

}  // namespace
}  // namespace fhirsync

namespace fhirsync {
namespace {

// ABI minor 2 added StartExport/ReadExportFile: a module built for an older
// minor has no such methods in its vtable, so `export` is never routed to
// it, whatever its capabilities claim.
TEST(RoutingTest, ExportIsRoutedOnlyToPluginsBuiltForAbiMinor2) {
  const std::vector<TransportOperation> ops{TransportOperation::kRead,
                                            TransportOperation::kHistory,
                                            TransportOperation::kExport};
  for (std::uint32_t minor : {0u, 1u, 2u}) {
    LoadedPlugin plugin = Fake("fhir", {"*"}, ops, {kFhir});
    plugin.info.abi_minor = minor;
    auto manager = SyncResourceManager::Create(Plugins({plugin}), {}, {});
    ASSERT_TRUE(manager.ok()) << manager.status();
    const bool routed = manager.value()->Find("Patient", TransportOperation::kExport).ok();
    EXPECT_EQ(routed, minor >= 2) << "minor " << minor;
    const auto& caps = manager.value()->plugins().front().capabilities.operations;
    EXPECT_EQ(std::count(caps.begin(), caps.end(), TransportOperation::kExport), minor >= 2 ? 1 : 0);
    EXPECT_TRUE(manager.value()->Find("Patient", TransportOperation::kHistory).ok());
  }
}

}  // namespace
}  // namespace fhirsync
