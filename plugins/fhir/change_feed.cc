#include "change_feed.h"

#include <utility>

#include "fhirsync/feed/atom_change_reader.h"
#include "fhirsync/feed/http_page_fetcher.h"
#include "fhirsync/fhir/history_change_reader.h"

namespace fhirsync::fhirplugin {

class ChangeFeed::Impl {
 public:
  virtual ~Impl() = default;
  virtual ChangePage Read(const std::string& since, int max_entries) = 0;
};

namespace {

std::string OptionOf(const TransportSettings& settings, const std::string& key,
                     const std::string& fallback) {
  auto it = settings.options.find(key);
  return it == settings.options.end() ? fallback : it->second;
}

std::vector<std::string> NamedTypes(const std::vector<std::string>& types) {
  std::vector<std::string> named;
  for (const std::string& type : types) {
    if (type == kAnyResourceType) return {};  // every type: no filter
    named.push_back(type);
  }
  return named;
}

class AtomFeed : public ChangeFeed::Impl {
 public:
  AtomFeed(feed::HttpPageFetcherOptions options, std::string recent_url,
           feed::FeedNavigatorOptions navigation)
      : fetcher_(std::move(options)),
        reader_(&fetcher_, std::move(recent_url), std::move(navigation)) {}
  ChangePage Read(const std::string& since, int max_entries) override {
    return reader_.ReadChanges(since, max_entries);
  }

 private:
  feed::HttpPageFetcher fetcher_;
  feed::AtomChangeReader reader_;
};

class HistoryFeed : public ChangeFeed::Impl {
 public:
  HistoryFeed(const fhir::FhirClientOptions& options, std::vector<std::string> types)
      : client_(options), reader_(&client_, std::move(types)) {}
  ChangePage Read(const std::string& since, int max_entries) override {
    return reader_.ReadChanges(since, max_entries);
  }

 private:
  fhir::FhirClient client_;
  fhir::HistoryChangeReader reader_;
};

}  // namespace

ChangeFeed::ChangeFeed(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChangeFeed::~ChangeFeed() = default;

Status ChangeFeed::Create(const TransportSettings& settings,
                          const fhir::FhirClientOptions& client_options,
                          const std::vector<std::string>& types,
                          std::unique_ptr<ChangeFeed>* out) {
  out->reset();
  const std::string kind = OptionOf(settings, "feed", "none");
  const std::vector<std::string> named = NamedTypes(types);
  if (kind == "none") return Status();
  if (kind == "fhir-history") {
    out->reset(new ChangeFeed(std::make_unique<HistoryFeed>(client_options, named)));
    return Status();
  }
  if (kind != "atom") {
    return Status(StatusCode::kInvalidArgument,
                  "options.feed: expected atom, fhir-history or none, got '" +
                      kind.substr(0, 40) + "'");
  }
  std::string root = settings.base_url;
  while (!root.empty() && root.back() == '/') root.pop_back();
  std::string recent = OptionOf(settings, "feed_url", root + "/feed/recent");
  if (recent.rfind("http://", 0) != 0 && recent.rfind("https://", 0) != 0) {
    return Status(StatusCode::kInvalidArgument,
                  "options.feed_url: expected an http:// or https:// URL of the feed's recent "
                  "page, got '" +
                      recent.substr(0, 200) + "'");
  }
  if (!named.empty()) {
    std::string filter;
    for (const std::string& type : named) filter += (filter.empty() ? "" : ",") + type;
    recent += (recent.find('?') == std::string::npos ? "?types=" : "&types=") + filter;
  }
  feed::HttpPageFetcherOptions fetch;
  // Only the origin is used: every page request goes to the parent.
  fetch.parent_url = recent;
  fetch.username = client_options.username;
  fetch.password = client_options.password;
  fetch.bearer_token = client_options.bearer_token;
  fetch.smart = client_options.smart;
  fetch.ca_file = client_options.ca_file;
  fetch.connect_timeout_ms = client_options.connect_timeout_ms;
  fetch.io_timeout_ms = client_options.io_timeout_ms;
  fetch.max_page_bytes = client_options.max_response_bytes;
  fetch.request_deadline_ms = client_options.request_deadline_ms;
  fetch.node_id = client_options.node_id;
  // One cap on a page, parent.max_answer_bytes, which the fetcher names
  // when it is hit (it checks before the reader sees the bytes).
  feed::FeedNavigatorOptions navigation;
  navigation.limits.max_page_bytes = fetch.max_page_bytes;
  out->reset(new ChangeFeed(std::make_unique<AtomFeed>(fetch, recent, navigation)));
  return Status();
}

ChangePage ChangeFeed::ReadChanges(const std::string& since, int max_entries) {
  std::lock_guard<std::mutex> lock(mutex_);
  return impl_->Read(since, max_entries);
}

}  // namespace fhirsync::fhirplugin
