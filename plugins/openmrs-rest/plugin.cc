// The OpenMRS REST transport plugin's entry symbol.

#include "fhirsync/plugin/declare_plugin.h"
#include "openmrs_rest_transport.h"

FHIRSYNC_DECLARE_PLUGIN(fhirsync::restplugin::OpenmrsRestTransport, "openmrs-rest", "1.0.0");
