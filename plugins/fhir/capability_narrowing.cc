#include "capability_narrowing.h"

#include <algorithm>
#include <set>

#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/resource.h"

namespace fhirsync::fhirplugin {

std::vector<std::string> NarrowTypes(const std::vector<std::string>& configured,
                                     const fhir::FhirCapabilities& capabilities) {
  std::set<std::string> readable;
  for (const auto& [type, interactions] : capabilities.interactions) {
    // A server may list names that are no FHIR type (a fhirsync node lists
    // the OpenMRS REST resources it holds, such as "visittype"); the FHIR
    // plugin never claims those.
    if (interactions.count("read") > 0 && ValidateResourceType(type).ok()) readable.insert(type);
  }
  if (capabilities.interactions.empty()) {
    std::set<std::string> kept(configured.begin(), configured.end());
    return {kept.begin(), kept.end()};
  }
  std::set<std::string> claimed;
  for (const std::string& type : configured) {
    if (type == kAnyResourceType) {
      claimed.insert(readable.begin(), readable.end());
    } else if (readable.count(type) > 0) {
      claimed.insert(type);
    }
  }
  return {claimed.begin(), claimed.end()};
}

}  // namespace fhirsync::fhirplugin
