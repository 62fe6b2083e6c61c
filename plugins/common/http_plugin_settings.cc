#include "http_plugin_settings.h"

#include <charconv>

namespace fhirsync::plugins {
namespace {

Status Invalid(const std::string& message) {
  return Status(StatusCode::kInvalidArgument, message);
}

// Keeps hostile option text short and printable in messages.
std::string Quote(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 80)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > 80) out += "...";
  return "'" + out + "'";
}

}  // namespace

std::string OptionOr(const TransportSettings& settings, const std::string& key,
                     const std::string& fallback) {
  auto it = settings.options.find(key);
  return it == settings.options.end() ? fallback : it->second;
}

Status ParseIntOption(const TransportSettings& settings, const std::string& key, long long min,
                      long long max, int* value) {
  auto it = settings.options.find(key);
  if (it == settings.options.end()) return Status();
  const std::string& text = it->second;
  long long parsed = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || parsed < min ||
      parsed > max) {
    return Invalid("options." + key + ": expected an integer from " + std::to_string(min) +
                   " to " + std::to_string(max) + ", got " + Quote(text));
  }
  *value = static_cast<int>(parsed);
  return Status();
}

Status ParseHttpPluginSettings(const TransportSettings& settings, const std::string& default_path,
                               int default_priority, HttpPluginSettings* out) {
  *out = HttpPluginSettings{};
  std::string url = OptionOr(settings, "url", "");
  if (url.empty()) {
    if (settings.base_url.empty()) {
      return Invalid("no remote URL: the node has no parent.url and options.url is not set");
    }
    url = settings.base_url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    std::string path = OptionOr(settings, "path", default_path);
    if (!path.empty() && path.front() != '/') path = "/" + path;
    url += path;
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Invalid("remote URL " + Quote(url) + " is not an http:// URL (nor an https:// one)");
  }
  out->url = url;

  out->priority = default_priority;
  Status status = ParseIntOption(settings, "priority", -1000000, 1000000, &out->priority);
  if (!status.ok()) return status;
  status = ParseIntOption(settings, "connect_timeout_ms", 1, 3600000, &out->connect_timeout_ms);
  if (!status.ok()) return status;
  status = ParseIntOption(settings, "timeout_ms", 1, 3600000, &out->timeout_ms);
  if (!status.ok()) return status;
  int deadline_seconds = out->request_deadline_ms / 1000;
  status = ParseIntOption(settings, kRequestDeadlineOption, 1, 86400, &deadline_seconds);
  if (!status.ok()) return status;
  out->request_deadline_ms = deadline_seconds * 1000;
  // Up to 4 GiB, more than an int holds.
  auto max = settings.options.find(kMaxAnswerBytesOption);
  if (max != settings.options.end()) {
    const std::string& text = max->second;
    unsigned long long parsed = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
        parsed < 1024 || parsed > (1ull << 32)) {
      return Invalid(std::string("options.") + kMaxAnswerBytesOption +
                     ": expected an integer from 1024 to 4294967296, got " + Quote(text));
    }
    out->max_answer_bytes = static_cast<std::size_t>(parsed);
  }
  out->ca_file = OptionOr(settings, kParentCaFileOption, "");
  StatusOr<net::HttpAuth> auth =
      net::HttpAuthFor(settings, out->timeout_ms, out->request_deadline_ms);
  if (!auth.ok()) return auth.status();
  out->auth = std::move(auth).value();
  return Status();
}

}  // namespace fhirsync::plugins
