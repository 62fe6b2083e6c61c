// FakeParent: an in-memory parent behind the TransportPlugin interface, for
// unit tests of the push side. It versions what it holds ("1", "2", ...),
// checks If-Match like a FHIR server (412 on a mismatch, 404 for an update
// of a resource it lacks), refuses a create of a live resource as
// If-None-Match: * does (412), and answers scripted faults first when told to.
//
// Thread safety: guarded by one mutex.

#ifndef FHIRSYNC_TESTS_PUSH_FAKE_PARENT_H_
#define FHIRSYNC_TESTS_PUSH_FAKE_PARENT_H_

#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/plugin_loader.h"

namespace fhirsync::testing {

struct Fault {
  int http_status = 500;
  StatusCode code = StatusCode::kUnavailable;
  std::string message = "HTTP 500 Internal Server Error";
  std::string operation_outcome;
  bool ambiguous = false;
  bool apply = false;  // apply the write anyway (an answer lost after the fact)
};

struct HeldResource {
  int version = 0;
  std::string body;
  bool deleted = false;
};

class FakeParent : public TransportPlugin {
 public:
  Status Configure(const TransportSettings&) override { return Status(); }
  TransportCapabilities GetCapabilities() const override {
    TransportCapabilities caps;
    caps.resource_types = {"*"};
    caps.operations = {TransportOperation::kRead, TransportOperation::kCreate,
                       TransportOperation::kUpdate, TransportOperation::kDelete};
    caps.formats = {ResourceFormat::kFhirJson};
    return caps;
  }

  ReadResult Read(const std::string& type, const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++reads;
    ReadResult result;
    auto it = held_.find(type + "/" + id);
    if (it == held_.end()) {
      result.status = Status(StatusCode::kNotFound, "HTTP 404");
      result.http_status = 404;
      return result;
    }
    result.http_status = it->second.deleted ? 410 : 200;
    if (it->second.deleted) result.status = Status(StatusCode::kNotFound, "HTTP 410 gone");
    result.resource.type = type;
    result.resource.id = id;
    result.resource.version = std::to_string(it->second.version);
    result.resource.deleted = it->second.deleted;
    result.resource.body = it->second.body;
    return result;
  }

  RemoteWriteResult Create(const RemoteResource& resource) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++creates;
    return WriteLocked(resource, "", false, /*create=*/true);
  }
  RemoteWriteResult Update(const RemoteResource& resource,
                           const std::string& expected_version) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++updates;
    expected_versions.push_back(expected_version);
    return WriteLocked(resource, expected_version, false, false);
  }
  RemoteWriteResult Delete(const std::string& type, const std::string& id,
                           const std::string& expected_version) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++deletes;
    RemoteResource resource;
    resource.type = type;
    resource.id = id;
    return WriteLocked(resource, expected_version, true, false);
  }
  std::vector<RemoteWriteResult> WriteMany(const std::vector<WriteRequest>& requests) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++write_many_calls;
      write_many_sizes.push_back(requests.size());
    }
    return TransportPlugin::WriteMany(requests);
  }

  // Test controls.
  void AddFault(Fault fault) {
    std::lock_guard<std::mutex> lock(mu_);
    faults_.push_back(std::move(fault));
  }
  void Put(const std::string& key, const std::string& body) {
    std::lock_guard<std::mutex> lock(mu_);
    HeldResource& held = held_[key];
    ++held.version;
    held.body = body;
    held.deleted = false;
  }
  // The parent loses `key` (restored from an older backup).
  void Forget(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    held_.erase(key);
  }
  HeldResource Held(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = held_.find(key);
    return it == held_.end() ? HeldResource{} : it->second;
  }

  int reads = 0, creates = 0, updates = 0, deletes = 0, write_many_calls = 0;
  std::vector<std::size_t> write_many_sizes;
  std::vector<std::string> expected_versions;

 private:
  RemoteWriteResult WriteLocked(const RemoteResource& resource, const std::string& expected,
                                bool remove, bool create) {
    RemoteWriteResult result;
    const std::string key = resource.type + "/" + resource.id;
    if (!faults_.empty()) {
      Fault fault = faults_.front();
      faults_.pop_front();
      if (fault.apply) Apply(key, resource, remove);
      result.status = Status(fault.code, fault.message);
      result.http_status = fault.http_status;
      result.operation_outcome = fault.operation_outcome;
      result.ambiguous = fault.ambiguous;
      return result;
    }
    auto it = held_.find(key);
    const bool exists = it != held_.end() && !it->second.deleted;
    if (!create && !exists) {
      result.status = Status(StatusCode::kNotFound, "HTTP 404 Not Found");
      result.http_status = 404;
      return result;
    }
    if (create && exists) {  // as a FHIR server answers If-None-Match: *
      result.status = Status(StatusCode::kAborted,
                             "HTTP 412 Precondition Failed: " + key + " already exists (version " +
                                 std::to_string(it->second.version) + ")");
      result.http_status = 412;
      return result;
    }
    if (!create && !expected.empty() && std::to_string(it->second.version) != expected) {
      result.status = Status(StatusCode::kAborted, "HTTP 412 Precondition Failed: version " +
                                                       std::to_string(it->second.version));
      result.http_status = 412;
      return result;
    }
    Apply(key, resource, remove);
    result.http_status = create && !exists ? 201 : 200;
    result.version = std::to_string(held_[key].version);
    return result;
  }
  void Apply(const std::string& key, const RemoteResource& resource, bool remove) {
    HeldResource& held = held_[key];
    ++held.version;
    held.deleted = remove;
    held.body = remove ? "" : resource.body;
  }

  std::mutex mu_;
  std::map<std::string, HeldResource> held_;
  std::deque<Fault> faults_;
};

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_PUSH_FAKE_PARENT_H_
