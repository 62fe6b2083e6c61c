#include "server/gzip.h"

#include <Poco/DeflatingStream.h>
#include <Poco/Exception.h>
#include <Poco/InflatingStream.h>
#include <Poco/MemoryStream.h>

#include <sstream>

#include "fhirsync/base/text_util.h"
#include "server/http_types.h"

namespace fhirsync::server {

std::string GzipCompress(std::string_view data) {
  std::ostringstream out;
  // Level 1: bodies are mostly JSON/XML, where level 1 already gets most of
  // the gain at a fraction of the CPU a busy parent would spend on level 6.
  Poco::DeflatingOutputStream deflate(out, Poco::DeflatingStreamBuf::STREAM_GZIP, 1);
  deflate.write(data.data(), static_cast<std::streamsize>(data.size()));
  deflate.close();
  return std::move(out).str();
}

StatusOr<std::string> GzipDecompress(std::string_view data, std::size_t max_bytes) {
  if (data.empty()) return std::string();
  Poco::MemoryInputStream in(data.data(), data.size());
  std::string out;
  try {
    Poco::InflatingInputStream inflate(in, Poco::InflatingStreamBuf::STREAM_GZIP);
    char buffer[16384];
    while (true) {
      inflate.read(buffer, sizeof buffer);
      std::streamsize n = inflate.gcount();
      if (n > 0) {
        if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
          return ResourceExhaustedError("gzip request body inflates to more than the cap of " +
                                        std::to_string(max_bytes) +
                                        " bytes (server.max_request_bytes)");
        }
        out.append(buffer, static_cast<std::size_t>(n));
      }
      if (!inflate) {
        if (inflate.bad()) {
          return InvalidArgumentError(
              "gzip request body is truncated or corrupt (it ends before the gzip trailer)");
        }
        break;
      }
    }
  } catch (const Poco::Exception& e) {
    return InvalidArgumentError("gzip request body is not valid gzip: " +
                                EscapeForMessage(e.displayText()));
  }
  // Poco's stream reports a stream cut inside the gzip header or the first
  // deflate block as a clean end with no output. A body the client bothered
  // to compress is never legitimately empty here, so treat it as truncated.
  if (out.empty()) {
    return InvalidArgumentError(
        "gzip request body is truncated or corrupt (no complete data before it ends)");
  }
  return out;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  for (const std::string& part : SplitList(accept_encoding, ',')) {
    std::string_view item = part;
    std::string_view coding = item.substr(0, item.find(';'));
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    if (!EqualsIgnoreCase(coding, "gzip") && !EqualsIgnoreCase(coding, "x-gzip") &&
        coding != "*") {
      continue;
    }
    std::size_t q = item.find("q=");
    if (q != std::string_view::npos) {
      std::string_view value = item.substr(q + 2);
      // q=0, q=0.0, q=0.000 all refuse.
      bool zero = !value.empty() && value[0] == '0';
      for (std::size_t i = 1; zero && i < value.size(); ++i) {
        zero = value[i] == '.' || value[i] == '0' || value[i] == ' ';
      }
      if (zero) continue;
    }
    return true;
  }
  return false;
}

}  // namespace fhirsync::server
