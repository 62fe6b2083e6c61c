// The server's TLS setup (internal): an OpenSSL context, through
// boost::asio::ssl, made from server.tls (docs/deployment.md).
//
// Thread safety: MakeServerTlsContext is a pure function; the context it
// returns is shared by every connection and only read after it is made.
// CertificateName is safe on a connection's own stream.

#ifndef FHIRSYNC_SERVER_TLS_CONTEXT_H_
#define FHIRSYNC_SERVER_TLS_CONTEXT_H_

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "fhirsync/config.h"
#include "fhirsync/status.h"

namespace fhirsync::server {

// A server context: TLS 1.2 or newer, the certificate chain and key of
// `tls` (paths relative to `base_dir` unless absolute), and when
// client_ca_file is set, a client certificate signed by that CA required
// on every connection. InvalidArgument naming the key and file when one
// cannot be read or the key is not the certificate's.
StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const ServerTlsConfig& tls, const std::string& base_dir);

// The subject CN of the verified peer certificate of `ssl` (an SSL*), or
// empty when there is none or it was not verified.
std::string CertificateName(void* ssl);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_TLS_CONTEXT_H_
