// Files compiled into the program at build time (internal): the admin
// page's HTML, CSS and JavaScript, embedded by cmake/embed_files.cmake from
// framework/src/server/admin_ui/, so `serve` needs no files beside it.

#ifndef FHIRSYNC_SERVER_EMBEDDED_FILES_H_
#define FHIRSYNC_SERVER_EMBEDDED_FILES_H_

#include <span>
#include <string_view>

namespace fhirsync::server {

struct EmbeddedFile {
  std::string_view name;  // "index.html"
  std::string_view content;
};

// Every file of admin_ui/, in name order. Defined in the generated
// admin_ui_files.cc.
std::span<const EmbeddedFile> AdminUiFiles();

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_EMBEDDED_FILES_H_
