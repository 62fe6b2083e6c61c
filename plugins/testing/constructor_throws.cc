// A correct declaration of a class whose constructor throws: the macro's
// create must catch it and return null with the reason.
#include <stdexcept>

#include "fhirsync/plugin/declare_plugin.h"
#include "testing_descriptor.h"

namespace {
class ThrowingTransport : public fhirsync::testing::NullTransport {
 public:
  ThrowingTransport() { throw std::runtime_error("cannot reach the licence server"); }
};
}  // namespace

FHIRSYNC_DECLARE_PLUGIN(ThrowingTransport, "constructor-throws", "0.0.1");
