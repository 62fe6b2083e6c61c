// Status and StatusOr<T>: how every fhirsync operation reports success or
// failure. The code, not the message, drives what the sync services do next
// (docs/architecture.md §5): kAborted is a version conflict; kInvalidArgument,
// kOutOfRange, kUnimplemented and kFailedPrecondition dead-letter an item;
// kUnauthenticated and kPermissionDenied pause pushing; kUnavailable,
// kDeadlineExceeded, kInternal and every other code are retried with backoff.
//
// Header-only, like the rest of fhirsync::plugin_api: a transport plugin
// uses Status, StatusOr and the error factories without linking any
// fhirsync library.
//
// Thread safety: both are values; distinct objects may be used from distinct
// threads, a single object needs external synchronisation like any value.
// No exception is thrown by either type except StatusOr<T>::value() on an
// error, which is a programming mistake (check ok() first).

#ifndef FHIRSYNC_STATUS_H_
#define FHIRSYNC_STATUS_H_

#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace fhirsync {

// The absl/gRPC canonical codes; the numbers match theirs.
enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "INVALID_ARGUMENT", "NOT_FOUND", ...
inline std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kCancelled: return "CANCELLED";
    case StatusCode::kUnknown: return "UNKNOWN";
    case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case StatusCode::kNotFound: return "NOT_FOUND";
    case StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
    case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case StatusCode::kAborted: return "ABORTED";
    case StatusCode::kOutOfRange: return "OUT_OF_RANGE";
    case StatusCode::kUnimplemented: return "UNIMPLEMENTED";
    case StatusCode::kInternal: return "INTERNAL";
    case StatusCode::kUnavailable: return "UNAVAILABLE";
    case StatusCode::kDataLoss: return "DATA_LOSS";
    case StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
  }
  return "UNKNOWN";
}

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message)
      : code_(code), message_(code == StatusCode::kOk ? "" : std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "prefix: message" (no-op when OK).
  Status WithContext(std::string_view prefix) const {
    if (ok()) return *this;
    std::string message(prefix);
    message += ": ";
    message += message_;
    return Status(code_, std::move(message));
  }

  // "NOT_FOUND: Patient/123 does not exist" or "OK".
  std::string ToString() const {
    if (ok()) return "OK";
    std::string out(StatusCodeName(code_));
    out += ": ";
    out += message_;
    return out;
  }

  // Explicitly ignores a status where failure is acceptable (say why at the
  // call site).
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline std::ostream& operator<<(std::ostream& os, const Status& status) {
  return os << status.ToString();
}

// Factories, one per code that fhirsync produces.
inline Status InvalidArgumentError(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}
inline Status NotFoundError(std::string message) {
  return Status(StatusCode::kNotFound, std::move(message));
}
inline Status AlreadyExistsError(std::string message) {
  return Status(StatusCode::kAlreadyExists, std::move(message));
}
inline Status FailedPreconditionError(std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(message));
}
inline Status AbortedError(std::string message) {
  return Status(StatusCode::kAborted, std::move(message));
}
inline Status UnavailableError(std::string message) {
  return Status(StatusCode::kUnavailable, std::move(message));
}
inline Status DeadlineExceededError(std::string message) {
  return Status(StatusCode::kDeadlineExceeded, std::move(message));
}
inline Status PermissionDeniedError(std::string message) {
  return Status(StatusCode::kPermissionDenied, std::move(message));
}
inline Status UnauthenticatedError(std::string message) {
  return Status(StatusCode::kUnauthenticated, std::move(message));
}
inline Status ResourceExhaustedError(std::string message) {
  return Status(StatusCode::kResourceExhausted, std::move(message));
}
inline Status OutOfRangeError(std::string message) {
  return Status(StatusCode::kOutOfRange, std::move(message));
}
inline Status UnimplementedError(std::string message) {
  return Status(StatusCode::kUnimplemented, std::move(message));
}
inline Status InternalError(std::string message) {
  return Status(StatusCode::kInternal, std::move(message));
}
inline Status DataLossError(std::string message) {
  return Status(StatusCode::kDataLoss, std::move(message));
}

// Holds either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  // An error. Passing an OK status is a bug and becomes kInternal.
  StatusOr(Status status)  // NOLINT(google-explicit-constructor)
      : status_(status.ok() ? InternalError("StatusOr built from an OK status")
                            : std::move(status)) {}
  StatusOr(const T& value) : value_(value) {}  // NOLINT
  StatusOr(T&& value) : value_(std::move(value)) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // Precondition: ok(). Throws std::logic_error otherwise.
  const T& value() const& { CheckOk(); return *value_; }
  T& value() & { CheckOk(); return *value_; }
  T&& value() && { CheckOk(); return std::move(*value_); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  void CheckOk() const;

  Status status_;  // OK whenever value_ holds a value
  std::optional<T> value_;
};

namespace internal {
[[noreturn]] inline void ThrowBadStatusOrAccess(const Status& status) {
  throw std::logic_error("StatusOr::value() on an error: " + status.ToString());
}
}  // namespace internal

template <typename T>
void StatusOr<T>::CheckOk() const {
  if (!value_.has_value()) internal::ThrowBadStatusOrAccess(status_);
}

}  // namespace fhirsync

#define FHIRSYNC_STATUS_CONCAT_INNER_(a, b) a##b
#define FHIRSYNC_STATUS_CONCAT_(a, b) FHIRSYNC_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` yields a non-OK Status.
#define FHIRSYNC_RETURN_IF_ERROR(expr)                 \
  do {                                                 \
    ::fhirsync::Status fhirsync_status_ = (expr);      \
    if (!fhirsync_status_.ok()) return fhirsync_status_; \
  } while (0)

// `lhs = value of expr` or returns its error. lhs may declare a variable:
//   FHIRSYNC_ASSIGN_OR_RETURN(Resource r, store.Get("Patient", "1"));
#define FHIRSYNC_ASSIGN_OR_RETURN(lhs, expr)                                 \
  FHIRSYNC_ASSIGN_OR_RETURN_IMPL_(                                           \
      FHIRSYNC_STATUS_CONCAT_(fhirsync_statusor_, __LINE__), lhs, expr)
#define FHIRSYNC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return tmp.status();                   \
  lhs = std::move(tmp).value()

#endif  // FHIRSYNC_STATUS_H_
