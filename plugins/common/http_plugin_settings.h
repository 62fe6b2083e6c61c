// HttpPluginSettings: what an HTTP transport plugin (fhir, openmrs-rest)
// reads from its TransportSettings, parsed and checked in one place so that
// both plugins accept the same options with the same error messages.
//
// Options (`plugins.load[i].options` in fhirsync.json):
//   url                 the remote's full base URL; default: the parent's
//                       url (TransportSettings::base_url) + `path`
//   path                appended to the parent's url (each plugin has its
//                       own default: "/fhir", "/ws/rest/v1")
//   priority            routing priority (integer; plugin default)
//   connect_timeout_ms  default 10000
//   timeout_ms          waiting for or sending bytes; default 30000
// and the two the host adds for every plugin (transport_plugin.h):
//   parent.max_answer_bytes          default 64 MiB
//   parent.request_deadline_seconds  default 300
//   parent.ca_file                   an https parent's CAs (PEM); absent: the
//                                    system's CA store
// Credentials come from the settings' auth_scheme: "none", "basic" (user
// and password), "bearer" (token) or "smart" (net::HttpAuthFor).
//
// Thread safety: plain values and a pure function.

#ifndef FHIRSYNC_PLUGINS_COMMON_HTTP_PLUGIN_SETTINGS_H_
#define FHIRSYNC_PLUGINS_COMMON_HTTP_PLUGIN_SETTINGS_H_

#include <string>

#include "fhirsync/net/http_auth.h"
#include "fhirsync/plugin/transport_plugin.h"

namespace fhirsync::plugins {

struct HttpPluginSettings {
  std::string url;  // "http://127.0.0.1:8080/fhir", no trailing slash
  net::HttpAuth auth;  // from auth_scheme (net::HttpAuthFor)
  std::string ca_file;  // https: trusted CAs (PEM); empty: the system's store
  int priority = 0;
  int connect_timeout_ms = 10000;
  int timeout_ms = 30000;
  // The node's limits on what is read from the parent (options
  // kMaxAnswerBytesOption and kRequestDeadlineOption, which the host sets
  // from parent.max_answer_bytes and parent.request_deadline_seconds).
  std::size_t max_answer_bytes = 64u * 1024u * 1024u;
  int request_deadline_ms = 300000;
};

// Parses the common options. `default_path` is appended to the parent's url
// when options.url is not given; `default_priority` applies when
// options.priority is not given. Returns InvalidArgument naming the option
// or setting that is missing or malformed (e.g. "options.timeout_ms:
// expected a positive integer, got 'soon'"); `out` is then unspecified.
Status ParseHttpPluginSettings(const TransportSettings& settings, const std::string& default_path,
                               int default_priority, HttpPluginSettings* out);

// Reads options[key] as an integer in [min, max]; leaves `*value` alone when
// the option is absent. InvalidArgument naming the option otherwise.
Status ParseIntOption(const TransportSettings& settings, const std::string& key, long long min,
                      long long max, int* value);

// options[key], or `fallback` when absent.
std::string OptionOr(const TransportSettings& settings, const std::string& key,
                     const std::string& fallback);

}  // namespace fhirsync::plugins

#endif  // FHIRSYNC_PLUGINS_COMMON_HTTP_PLUGIN_SETTINGS_H_
