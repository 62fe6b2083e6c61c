// The FHIR transport plugin's entry symbol.

#include "fhir_transport.h"
#include "fhirsync/plugin/declare_plugin.h"

FHIRSYNC_DECLARE_PLUGIN(fhirsync::fhirplugin::FhirTransport, "fhir", "1.0.0");
