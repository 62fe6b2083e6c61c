// A correct declaration of a class whose methods throw: the macro's guard
// must turn each exception into a kInternal Status.
#include <stdexcept>
#include <string>
#include <vector>

#include "fhirsync/plugin/declare_plugin.h"
#include "testing_descriptor.h"

namespace {
class ThrowingTransport : public fhirsync::testing::NullTransport {
 public:
  fhirsync::ReadResult Read(const std::string& type, const std::string& id) override {
    throw std::out_of_range("no row for " + type + "/" + id);
  }
  fhirsync::RemoteWriteResult Create(const fhirsync::RemoteResource&) override { throw 42; }
  std::vector<fhirsync::RemoteWriteResult> WriteMany(
      const std::vector<fhirsync::WriteRequest>& requests) override {
    throw std::length_error(std::to_string(requests.size()) + " writes are too many");
  }
};
}  // namespace

FHIRSYNC_DECLARE_PLUGIN(ThrowingTransport, "throws-on-call", "0.0.1");
