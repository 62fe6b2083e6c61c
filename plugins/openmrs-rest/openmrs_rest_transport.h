// OpenmrsRestTransport: the OpenMRS REST transport plugin ("openmrs-rest"), a
// thin adapter from fhirsync::rest::OpenmrsRestClient to TransportPlugin. It
// carries resources held in OpenMRS REST representation
// (ResourceFormat::kOpenmrsRest), keyed by the OpenMRS resource name
// ("visittype") and uuid.
//
//   Read       GET {base}/{resource}/{uuid}?v=full (a voided object is read
//              as it is, with its "voided"/"retired" flag in the body)
//   ReadMany   one GET per uuid on the kept-alive connection (the REST API
//              has no batch read)
//   Create     POST {base}/{resource} with "uuid" set to the client's uuid
//   Update     POST {base}/{resource}/{uuid}, If-Match W/"n" when a version
//              is expected (a fhirsync node honours it; OpenMRS ignores it)
//   Delete     DELETE: voids (default) or purges (options.delete = "purge")
// Every result keeps rest-client's Status (architecture §5 codes), the HTTP status,
// OpenMRS's error message (as `operation_outcome`) and `ambiguous`.
//
// Settings: the common HTTP options (plugins/common/http_plugin_settings.h;
// the REST base is the parent's url + "/ws/rest/v1" unless options.url or
// options.path say otherwise; priority defaults to 0), plus
//   types        comma-separated resource names to claim (default "*")
//   delete       "void" (default) or "purge"
//   void_reason  the reason sent with a void (default "deleted on a fhirsync node")
//
// Thread safety: after Configure(), every method may be called from several
// threads; the client serialises them on its connection.

#ifndef FHIRSYNC_PLUGINS_OPENMRS_REST_OPENMRS_REST_TRANSPORT_H_
#define FHIRSYNC_PLUGINS_OPENMRS_REST_OPENMRS_REST_TRANSPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/rest/openmrs_rest_client.h"

namespace fhirsync::restplugin {

class OpenmrsRestTransport : public TransportPlugin {
 public:
  Status Configure(const TransportSettings& settings) override;
  TransportCapabilities GetCapabilities() const override;

  ReadResult Read(const std::string& type, const std::string& id) override;
  ReadManyResult ReadMany(const std::string& type, const std::vector<std::string>& ids) override;
  RemoteWriteResult Create(const RemoteResource& resource) override;
  RemoteWriteResult Update(const RemoteResource& resource,
                           const std::string& expected_version) override;
  RemoteWriteResult Delete(const std::string& type, const std::string& id,
                           const std::string& expected_version) override;

 private:
  std::unique_ptr<rest::OpenmrsRestClient> client_;
  std::vector<std::string> types_;
  int priority_ = 0;
  bool purge_ = false;
  std::string void_reason_;
};

}  // namespace fhirsync::restplugin

#endif  // FHIRSYNC_PLUGINS_OPENMRS_REST_OPENMRS_REST_TRANSPORT_H_
