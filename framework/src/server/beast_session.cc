#include "server/beast_session.h"

#include <chrono>
#include <limits>
#include <optional>
#include <utility>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "fhirsync/base/text_util.h"
#include "server/operation_outcome.h"
#include "server/tls_context.h"

namespace fhirsync::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// A request head larger than this is refused (431): no client of fhirsync
// sends one, and the head is held whole in memory.
constexpr std::uint32_t kMaxHeadBytes = 64 * 1024;
// What a lingering close reads and drops at most (see beast_session.h).
constexpr std::size_t kMaxDrainBytes = 64u * 1024u * 1024u;
// How long a connection refused at a connection limit lingers after its
// answer (see LingerClose).
constexpr std::chrono::seconds kRefusalLinger(2);
// How long the client is asked to wait when a limit was hit.
constexpr char kRetryAfterSeconds[] = "1";

std::chrono::seconds Seconds(int n) { return std::chrono::seconds(n); }

// A file read from an offset on, for http::basic_file_body: the body type
// reads from the file's position for size() bytes, so this file seeks to
// the offset when opened and counts its size from there (a Range answer).
class OffsetFile {
 public:
  using native_handle_type = beast::file::native_handle_type;
  void set_offset(std::uint64_t offset) { offset_ = offset; }
  bool is_open() const { return file_.is_open(); }
  void close(beast::error_code& ec) { file_.close(ec); }
  void open(const char* path, beast::file_mode mode, beast::error_code& ec) {
    file_.open(path, mode, ec);
    if (!ec) file_.seek(offset_, ec);
  }
  std::uint64_t size(beast::error_code& ec) const {
    const std::uint64_t whole = file_.size(ec);
    return whole > offset_ ? whole - offset_ : 0;
  }
  std::uint64_t pos(beast::error_code& ec) const { return file_.pos(ec) - offset_; }
  void seek(std::uint64_t offset, beast::error_code& ec) { file_.seek(offset_ + offset, ec); }
  std::size_t read(void* buffer, std::size_t n, beast::error_code& ec) const {
    return file_.read(buffer, n, ec);
  }
  std::size_t write(const void* buffer, std::size_t n, beast::error_code& ec) {
    return file_.write(buffer, n, ec);
  }

 private:
  beast::file file_;
  std::uint64_t offset_ = 0;
};
using FileBody = http::basic_file_body<OffsetFile>;

template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <typename... Args>
  Session(SessionEnv& env, tcp::socket&& socket, std::unique_ptr<ConnectionLimits::Lease> lease,
          std::string refusal, std::string client, Args&&... stream_args)
      : env_(env),
        stream_(std::move(socket), std::forward<Args>(stream_args)...),
        body_timer_(stream_.get_executor()),
        lease_(std::move(lease)),
        refusal_(std::move(refusal)),
        client_(std::move(client)) {}

  void Start() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Begin(); });
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  void Begin() {
    if constexpr (kTls) {
      // The handshake counts against the head's deadline: a client that
      // opens a connection and sends nothing is cut like a slow head.
      Tcp().expires_after(Seconds(env_.limits.header_timeout_seconds));
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();
                                self->certificate_name_ =
                                    CertificateName(self->stream_.native_handle());
                                self->AfterHandshake();
                              });
    } else {
      AfterHandshake();
    }
  }

  void AfterHandshake() {
    if (!lease_) {
      // Past a connection limit: say so instead of resetting. The request
      // is not read; the lingering close lets the client read this answer.
      flow_ = std::make_unique<RequestFlow>(*env_.state, RequestHead{"-", "-", {}, client_, ""});
      HttpResponse out = ErrorResponse(503, "throttled", "too many connections: " + refusal_);
      out.SetHeader("Retry-After", kRetryAfterSeconds);
      return Write(flow_->Respond(std::move(out)), /*must_close=*/true);
    }
    ReadHead();
  }

  void ReadHead() {
    if (env_.stopping.load()) return Close();
    parser_.emplace();
    parser_->header_limit(kMaxHeadBytes);
    // The body's cap is checked once the request is authorised (see
    // ReadBody): a head alone must not be refused for it.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    Tcp().expires_after(Seconds(env_.limits.header_timeout_seconds));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->OnHead(ec);
                            });
  }

  void OnHead(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      return RefuseHead(431, "the request head is over " + std::to_string(kMaxHeadBytes) +
                                 " bytes");
    }
    if (ec == http::error::end_of_stream ||
        (ec && ec.category() != make_error_code(http::error::bad_target).category())) {
      // Closed, cut at the head's deadline, or gone: no one to answer.
      return Close();
    }
    if (ec) return RefuseHead(400, "malformed request head: " + ec.message());
    const auto& request = parser_->get();
    RequestHead head;
    head.method = request.method_string().to_string();
    head.target = request.target().to_string();
    for (const auto& field : request) {
      head.headers.emplace_back(field.name_string().to_string(), field.value().to_string());
    }
    head.client_address = client_;
    head.certificate_name = certificate_name_;
    flow_ = std::make_unique<RequestFlow>(*env_.state, std::move(head));
    std::weak_ptr<Session> weak = this->shared_from_this();
    auto executor = stream_.get_executor();
    active_ = std::make_unique<ActiveRequests::Scope>(env_.state->active, [weak, executor] {
      net::post(executor, [weak] {
        if (auto self = weak.lock()) self->Cut();
      });
    });
    body_unread_ = !parser_->is_done();
    Submit([](Session& self) -> std::optional<Answer> {
      std::optional<HttpResponse> out = self.flow_->Begin();
      if (!out) return std::nullopt;
      return self.flow_->Respond(std::move(*out));
    });
  }

  // Runs `step` on a worker and continues on the strand: writes its answer,
  // or (nullopt) reads the body. Answers 503 when no worker is free and the
  // queue is full.
  template <typename Step>
  void Submit(Step step) {
    auto self = this->shared_from_this();
    const bool queued = env_.workers->TrySubmit([self, step] {
      std::optional<Answer> answer = step(*self);
      net::post(self->stream_.get_executor(), [self, answer = std::move(answer)]() mutable {
        if (answer) return self->Write(std::move(*answer), self->body_unread_);
        self->ReadBody();
      });
    });
    if (queued) return;
    HttpResponse out = ErrorResponse(
        503, "throttled",
        "the server is busy: all " + std::to_string(env_.limits.threads) +
            " workers (server.threads) are answering and " +
            std::to_string(env_.limits.queue_size) + " requests (server.queue_size) wait");
    out.SetHeader("Retry-After", kRetryAfterSeconds);
    Write(flow_->Respond(std::move(out)), body_unread_);
  }

  void ReadBody() {
    const auto& request = parser_->get();
    const std::uint64_t cap = env_.state->context.config.max_request_bytes;
    if (request.has_content_length() && parser_->content_length() &&
        *parser_->content_length() > cap) {
      return Write(flow_->Respond(flow_->BodyTooLarge(*parser_->content_length())),
                   /*must_close=*/true);
    }
    parser_->body_limit(cap);  // a chunked body is counted as it comes
    // The stream's own expiry would close the socket, leaving no way to say
    // why: this timer cancels the read instead, and OnBody answers 408.
    Tcp().expires_never();
    body_timer_.expires_after(Seconds(env_.limits.body_timeout_seconds));
    body_timer_.async_wait([weak = std::weak_ptr<Session>(this->shared_from_this())](
                               beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      self->body_timed_out_ = true;
      beast::error_code ignored;
      self->Tcp().socket().cancel(ignored);
    });
    auto read = [self = this->shared_from_this()] {
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self](beast::error_code ec, std::size_t) { self->OnBody(ec); });
    };
    const auto expect = request.find(http::field::expect);
    if (expect != request.end() && EqualsIgnoreCase(expect->value().to_string(), "100-continue")) {
      static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue, sizeof kContinue - 1),
                       [self = this->shared_from_this(), read](beast::error_code ec,
                                                               std::size_t) {
                         if (ec) return self->Close();
                         read();
                       });
      return;
    }
    read();
  }

  void OnBody(beast::error_code ec) {
    body_timer_.cancel();
    if (body_timed_out_) {
      return Write(flow_->Respond(flow_->BodyTooSlow()), /*must_close=*/true);
    }
    if (ec == http::error::body_limit) {
      return Write(flow_->Respond(flow_->BodyTooLarge(std::nullopt)), /*must_close=*/true);
    }
    if (ec) return Close();
    body_unread_ = false;
    body_ = std::move(parser_->get().body());
    Submit([](Session& self) -> std::optional<Answer> {
      return self.flow_->Respond(self.flow_->Complete(std::move(self.body_)));
    });
  }

  void RefuseHead(int status, const std::string& message) {
    flow_ = std::make_unique<RequestFlow>(*env_.state, RequestHead{"-", "-", {}, client_, ""});
    Write(flow_->Respond(ErrorResponse(status, "invalid", message)), /*must_close=*/true);
  }

  void Write(Answer answer, bool must_close) {
    if (!answer.file_path.empty()) return WriteFile(std::move(answer), must_close);
    response_.emplace();
    response_->version(parser_ && parser_->is_header_done() ? parser_->get().version() : 11);
    response_->result(static_cast<unsigned>(answer.status));
    for (auto& [name, value] : answer.headers) response_->insert(name, value);
    status_ = answer.status;
    sent_ = answer.body.size();
    response_->body() = std::move(answer.body);
    response_->content_length(answer.length);
    keep_alive_ = !must_close && !env_.stopping.load() && parser_ &&
                  parser_->is_header_done() && parser_->get().keep_alive();
    response_->keep_alive(keep_alive_);
    serializer_.emplace(*response_);
    WriteSome();
  }

  // An answer whose body is a file, read from disk piece by piece as the
  // client takes it (an export's NDJSON may be hundreds of MB).
  void WriteFile(Answer answer, bool must_close) {
    file_response_.emplace();
    beast::error_code ec;
    file_response_->body().file().set_offset(answer.file_offset);
    file_response_->body().open(answer.file_path.c_str(), beast::file_mode::scan, ec);
    if (ec || file_response_->body().size() != answer.length) {
      // Removed or changed between the handler and here (a cancelled export).
      file_response_.reset();
      Answer gone = flow_->Respond(ErrorResponse(
          404, "not-found", "the file is gone (its export was cancelled or expired)"));
      return Write(std::move(gone), must_close);
    }
    file_response_->version(parser_ && parser_->is_header_done() ? parser_->get().version() : 11);
    file_response_->result(static_cast<unsigned>(answer.status));
    for (auto& [name, value] : answer.headers) file_response_->insert(name, value);
    status_ = answer.status;
    sent_ = answer.length;
    file_response_->content_length(answer.length);
    keep_alive_ = !must_close && !env_.stopping.load() && parser_ &&
                  parser_->is_header_done() && parser_->get().keep_alive();
    file_response_->keep_alive(keep_alive_);
    file_serializer_.emplace(*file_response_);
    WriteSome();
  }

  void WriteSome() {
    // The deadline is per piece: a long answer to a slow but reading client
    // goes on; a client that stops reading is cut.
    Tcp().expires_after(Seconds(env_.limits.write_timeout_seconds));
    auto done = [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->OnWrite(ec);
    };
    if (file_serializer_) return http::async_write_some(stream_, *file_serializer_, done);
    http::async_write_some(stream_, *serializer_, done);
  }

  void OnWrite(beast::error_code ec) {
    const bool done = file_serializer_ ? file_serializer_->is_done() : serializer_->is_done();
    if (!ec && !done) return WriteSome();
    if (flow_) flow_->Log(status_, ec ? 0 : sent_);
    serializer_.reset();
    response_.reset();
    file_serializer_.reset();
    file_response_.reset();
    flow_.reset();
    active_.reset();  // before waiting for the next head: an idle
                      // connection does not hold a stop
    if (ec) return Close();
    if (keep_alive_) return ReadHead();
    LingerClose();
  }

  // Closes the sending side and reads (dropping it) what the client still
  // sends, so that its unread request does not turn the close into a reset
  // that would destroy the answer before the client reads it.
  void LingerClose() {
    beast::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    // A connection past a limit was answered before its request was read:
    // what it sent is small, and it holds no lease, so its descriptor is
    // given back soon.
    Tcp().expires_after(lease_ ? Seconds(env_.limits.body_timeout_seconds) : kRefusalLinger);
    Drain();
  }

  void Drain() {
    Tcp().async_read_some(net::buffer(drain_buffer_),
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->drained_ += n;
                            if (ec || self->drained_ > kMaxDrainBytes) return self->Close();
                            self->Drain();
                          });
  }

  // From ActiveRequests: the server is stopping and this request did not
  // finish in time.
  void Cut() {
    beast::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  void Close() {
    beast::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Tcp().close();
    active_.reset();
  }

  SessionEnv& env_;
  Stream stream_;
  net::steady_timer body_timer_;
  bool body_timed_out_ = false;
  std::unique_ptr<ConnectionLimits::Lease> lease_;
  const std::string refusal_;
  const std::string client_;
  std::string certificate_name_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string body_;
  bool body_unread_ = false;
  std::unique_ptr<RequestFlow> flow_;
  std::unique_ptr<ActiveRequests::Scope> active_;
  std::optional<http::response<http::string_body>> response_;
  std::optional<http::response_serializer<http::string_body>> serializer_;
  std::optional<http::response<FileBody>> file_response_;
  std::optional<http::response_serializer<FileBody>> file_serializer_;
  int status_ = 0;
  std::uint64_t sent_ = 0;
  bool keep_alive_ = false;
  char drain_buffer_[16384];
  std::size_t drained_ = 0;
};

}  // namespace

void StartSession(SessionEnv& env, tcp::socket socket,
                  std::unique_ptr<ConnectionLimits::Lease> lease, std::string refusal) {
  beast::error_code error;
  const tcp::endpoint peer = socket.remote_endpoint(error);
  if (error) return;  // gone already
  std::string client = peer.address().to_string();
  // An answer is complete when written, so it is sent at once rather than
  // held back by Nagle's algorithm for the client's ACK.
  socket.set_option(tcp::no_delay(true), error);
  if (env.tls != nullptr) {
    std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
        env, std::move(socket), std::move(lease), std::move(refusal), std::move(client), *env.tls)
        ->Start();
  } else {
    std::make_shared<Session<beast::tcp_stream>>(env, std::move(socket), std::move(lease),
                                                 std::move(refusal), std::move(client))
        ->Start();
  }
}

}  // namespace fhirsync::server
