// The one line that makes FolderTransport a loadable plugin named "folder".
#include "fhirsync/plugin/declare_plugin.h"
#include "folder_transport.h"

FHIRSYNC_DECLARE_PLUGIN(fhirsync::folder::FolderTransport, "folder", "1.0.0");
