// Reading Prometheus text exposition (format 0.0.4) in tests: every sample
// line becomes (series, value), where the series is the metric name with its
// labels as written ("fhirsync_http_requests_total{route=\"/metrics\",...}").
// Comment lines must be well-formed # HELP / # TYPE lines; anything else
// that does not parse is reported, so a malformed exposition fails the test.
// Header-only.
//
// Thread safety: plain values.

#ifndef FHIRSYNC_TESTS_SUPPORT_PROMETHEUS_TEXT_H_
#define FHIRSYNC_TESTS_SUPPORT_PROMETHEUS_TEXT_H_

#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fhirsync::testing {

struct Exposition {
  std::map<std::string, double> samples;        // series -> value
  std::map<std::string, std::string> types;     // metric family -> "counter", "gauge", ...
  std::vector<std::string> errors;              // lines that did not parse

  // The value of the series whose name is `name` and whose labels include
  // every one of `labels` ("route=\"/metrics\""); nullopt when none does.
  std::optional<double> Value(const std::string& name,
                              const std::vector<std::string>& labels = {}) const {
    for (const auto& [series, value] : samples) {
      const std::size_t brace = series.find('{');
      if (series.substr(0, brace) != name) continue;
      bool all = true;
      for (const std::string& label : labels) {
        if (series.find(label) == std::string::npos) all = false;
      }
      if (all) return value;
    }
    return std::nullopt;
  }
};

inline Exposition ParseExposition(const std::string& text) {
  Exposition out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, kind, family, rest;
      words >> hash >> kind >> family;
      if (kind == "TYPE") {
        words >> rest;
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                     "untyped"};
        if (family.empty() || !kTypes.count(rest)) out.errors.push_back(line);
        out.types[family] = rest;
      } else if (kind != "HELP" || family.empty()) {
        out.errors.push_back(line);
      }
      continue;
    }
    // name{labels} value [timestamp]; label values may hold spaces.
    std::size_t end = line.find('{');
    if (end != std::string::npos) {
      end = line.find("} ", end);
      if (end == std::string::npos) {
        out.errors.push_back(line);
        continue;
      }
      ++end;
    } else {
      end = line.find(' ');
    }
    if (end == std::string::npos || end == 0) {
      out.errors.push_back(line);
      continue;
    }
    const std::string series = line.substr(0, end);
    const std::string value_text = line.substr(end + 1);
    char* parsed_end = nullptr;
    const double value = std::strtod(value_text.c_str(), &parsed_end);
    if (parsed_end == value_text.c_str()) {
      out.errors.push_back(line);
      continue;
    }
    out.samples[series] = value;
  }
  return out;
}

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SUPPORT_PROMETHEUS_TEXT_H_
