// Request and Response as handlers see them, plus the parsing helpers every
// endpoint needs: case-insensitive header fields (RFC 9110 §5.1), query strings
// and application/x-www-form-urlencoded bodies with strict percent-decoding
// (RFC 3986 §2.1, WHATWG URL "application/x-www-form-urlencoded").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace tessera::http {

// ASCII case-insensitive comparison: field names are case-insensitive
// (RFC 9110 §5.1), and so are method-independent tokens like "close".
// Inline for the length check, which settles most comparisons of field names.
bool iequals_same_size(std::string_view a, std::string_view b);
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && iequals_same_size(a, b);
}

// RFC 9110 §5.5: a field value is VCHAR, obs-text, SP and HTAB. CR, LF and NUL could split a
// message; the other controls (and DEL) are invalid too, and no sender may generate them. The same
// set Beast's parser accepts, so a value parsed from a peer is always safe to pass on.
bool safe_field_value(std::string_view value);

// Ordered list of name/value pairs with case-insensitive lookup. A flat vector
// beats a map for the dozen fields a request carries.
class Headers {
 public:
  using Field = std::pair<std::string, std::string>;
  using const_iterator = std::vector<Field>::const_iterator;

  Headers() = default;
  // A copy takes the live fields only, not the spare storage.
  Headers(const Headers& other) : fields_(other.begin(), other.end()), used_(other.used_) {}
  Headers& operator=(const Headers& other) {
    if (this != &other) {
      fields_.assign(other.begin(), other.end());
      used_ = other.used_;
    }
    return *this;
  }
  // A moved-from list is empty and usable: the implicit move would have left `used_` counting
  // fields its moved-away storage no longer holds.
  Headers(Headers&& other) noexcept
      : fields_(std::move(other.fields_)), used_(std::exchange(other.used_, 0)) {
    other.fields_.clear();
  }
  Headers& operator=(Headers&& other) noexcept {
    if (this != &other) {
      fields_ = std::move(other.fields_);
      used_ = std::exchange(other.used_, 0);
      other.fields_.clear();
    }
    return *this;
  }
  ~Headers() = default;

  // First value of `name`, if present.
  std::optional<std::string_view> get(std::string_view name) const;
  // Number of fields named `name` (a repeated singleton field is an error for
  // most callers, e.g. two Authorization headers).
  size_t count(std::string_view name) const;
  bool contains(std::string_view name) const { return count(name) != 0; }
  // Replaces every field named `name` with one field.
  void set(std::string_view name, std::string_view value);
  // Appends a field without touching existing ones.
  void add(std::string_view name, std::string_view value);
  void remove(std::string_view name);
  // Removes every field `drop` is true of, keeping the order of the rest (and the removed
  // strings' storage as spare). `drop` must not look at this list.
  template <class Pred>
  void remove_if(Pred drop) {
    size_t kept = 0;
    for (size_t i = 0; i < used_; ++i) {
      if (drop(std::as_const(fields_[i]))) continue;
      if (kept != i) std::swap(fields_[kept], fields_[i]);
      ++kept;
    }
    used_ = kept;
  }
  // Empties the list but keeps the strings' storage for the next request.
  void clear() { used_ = 0; }
  void reserve(size_t fields) { fields_.reserve(fields); }
  bool empty() const { return used_ == 0; }
  size_t size() const { return used_; }

  const_iterator begin() const { return fields_.begin(); }
  const_iterator end() const { return fields_.begin() + static_cast<std::ptrdiff_t>(used_); }

 private:
  std::vector<Field> fields_;  // [0, used_) are live; the rest are spare storage
  size_t used_ = 0;
};

// Decoded name/value pairs of a query string or form body, in order.
class Params {
 public:
  using Param = std::pair<std::string, std::string>;

  std::optional<std::string_view> get(std::string_view name) const;
  size_t count(std::string_view name) const;
  bool contains(std::string_view name) const { return count(name) != 0; }
  // RFC 6749 §3.1: request parameters MUST NOT be included more than once.
  // Returns the first name that occurs twice, if any.
  std::optional<std::string_view> first_duplicate() const;
  void add(std::string name, std::string value) {
    params_.emplace_back(std::move(name), std::move(value));
  }
  void clear() { params_.clear(); }
  bool empty() const { return params_.empty(); }
  size_t size() const { return params_.size(); }
  std::vector<Param>::const_iterator begin() const { return params_.begin(); }
  std::vector<Param>::const_iterator end() const { return params_.end(); }

 private:
  std::vector<Param> params_;
};

enum class DecodeError {
  kBadPercentEscape,  // '%' not followed by two hex digits
  kInvalidUtf8,       // decoded bytes are not UTF-8 (forms carry text)
  kNulByte,           // a decoded NUL: never legitimate in a parameter
};
const char* to_string(DecodeError e);

// Strict percent-decoding (RFC 3986 §2.1). `plus_is_space` applies the
// form-urlencoded rule that '+' encodes a space.
Result<std::string, DecodeError> percent_decode(std::string_view in, bool plus_is_space);

// Parses `a=1&b=2` (application/x-www-form-urlencoded, also used for query
// strings). Empty pairs (`a=1&&b=2`) are skipped; a pair without '=' has an
// empty value. Any bad escape or non-UTF-8 value fails the whole input.
Result<Params, DecodeError> parse_form(std::string_view body);

// Client certificate presented over TLS (mutual TLS). Handed to handlers for RFC 8705 client
// authentication and binding. The TLS handshake has proven the client holds its private key.
struct ClientCertificate {
  std::string der;      // the leaf certificate, DER-encoded
  std::string subject;  // one-line RFC 2253 distinguished name, for logs and policy
  // The chain verified against the listener's client CAs (RFC 8705 §2.1, the PKI method). False
  // only on a listener that accepts certificates of any issuer (ClientCertMode::kOptionalAnyIssuer,
  // for §2.2 self-signed certificates) when this one did not verify.
  bool chain_verified = true;
  // subjectAltName entries (RFC 5280 §4.2.1.6) by type: dNSName, uniformResourceIdentifier,
  // iPAddress (text form: dotted IPv4, RFC 5952 IPv6) and rfc822Name.
  std::vector<std::string> san_dns;
  std::vector<std::string> san_uri;
  std::vector<std::string> san_ip;
  std::vector<std::string> san_email;
  // base64url(SHA-256(DER)): the `x5t#S256` confirmation value (RFC 8705 §3.1).
  std::string sha256_thumbprint() const;
};

struct TlsInfo {
  bool secure = false;                                          // request arrived over TLS
  std::string_view protocol;                                    // e.g. "TLSv1.3" (static storage)
  std::string_view cipher;                                      // static storage owned by OpenSSL
  std::shared_ptr<const ClientCertificate> client_certificate;  // null if none
};

class Request {
 public:
  std::string_view method() const { return method_; }
  // The request-target as received (RFC 9112 §3.2), including the query.
  std::string_view target() const { return target_; }
  // Path part of the target, still percent-encoded as on the wire.
  std::string_view path() const { return path_; }
  // Raw query string without '?', empty if none.
  std::string_view raw_query() const { return raw_query_; }
  // Decoded query parameters. Parsed on first use; a malformed query gives an
  // empty set and `query_error()` says why.
  const Params& query() const;
  std::optional<DecodeError> query_error() const;
  const Headers& headers() const { return headers_; }
  std::optional<std::string_view> header(std::string_view name) const { return headers_.get(name); }
  const std::string& body() const { return body_; }
  // Decoded path parameter for a `{name}` segment of the route pattern.
  std::optional<std::string_view> param(std::string_view name) const;
  // The route pattern that matched, e.g. "/stores/{id}/check".
  std::string_view route() const { return route_; }
  std::string_view peer_address() const { return peer_address_; }
  uint16_t peer_port() const { return peer_port_; }
  const TlsInfo& tls() const { return tls_; }
  const ClientCertificate* client_certificate() const { return tls_.client_certificate.get(); }
  std::string_view request_id() const { return request_id_; }
  // Body parsed as application/x-www-form-urlencoded.
  Result<Params, DecodeError> form() const { return parse_form(body_); }
  // Body parsed as strict JSON.
  Result<json::Json, json::ParseError> json(json::Limits limits = {}) const {
    return json::parse_strict(body_, limits);
  }

  // Construction, for the server and for tests of handlers.
  void set_method(std::string_view m) { method_.assign(m); }
  void set_target(std::string_view target);
  Headers& mutable_headers() { return headers_; }
  std::string& mutable_body() { return body_; }
  void set_peer(std::string_view address, uint16_t port) {
    peer_address_.assign(address);
    peer_port_ = port;
  }
  TlsInfo& mutable_tls() { return tls_; }
  void set_request_id(std::string_view id) { request_id_.assign(id); }
  void set_route(std::string_view route) { route_ = route; }
  std::vector<std::pair<std::string_view, std::string>>& mutable_params() { return params_; }
  // Resets per-request state, keeping buffers' capacity for the next request.
  void reset();

 private:
  std::string method_;
  std::string target_;
  std::string_view path_;
  std::string_view raw_query_;
  Headers headers_;
  std::string body_;
  std::vector<std::pair<std::string_view, std::string>> params_;  // names point into the router
  std::string_view route_;
  std::string peer_address_;
  uint16_t peer_port_ = 0;
  TlsInfo tls_;
  std::string request_id_;
  mutable std::optional<Params> query_;
  mutable std::optional<DecodeError> query_error_;
};

class Response {
 public:
  Response() = default;
  explicit Response(int status) : status(status) {}

  int status = 200;
  Headers headers;
  std::string body;

  // `status` with a JSON body and Content-Type application/json.
  static Response json(int status, const json::Json& body);
  // JSON error in the OAuth shape (RFC 6749 §5.2): {"error", "error_description"}.
  static Response error(int status, std::string_view code, std::string_view description);
  static Response text(int status, std::string body,
                       std::string_view content_type = "text/plain; charset=utf-8");
};

// Standard reason phrase for a status code (RFC 9110 §15), "" if unknown.
std::string_view reason_phrase(int status);

// RFC 9110 §5.6.2 token (a field name, §5.1, is one): one or more tchar.
bool is_token(std::string_view s);

// RFC 9110 §5.5: a field value without the optional whitespace (SP, HTAB) around it.
std::string_view trim_ows(std::string_view v);

// ASCII letters lowercased, other bytes kept (field names, RFC 9110 §5.1, are case-insensitive).
std::string ascii_lower(std::string_view s);

// RFC 3986 §3.2.2-3.2.3 host [":" port] of an http(s) URI, without userinfo (RFC 9110 §4.2.4):
// a bracketed IP literal (hex digits, ":" and ".") or a non-empty reg-name / IPv4 address
// (RFC 9110 §4.2.1: a recipient MUST reject an empty host), then an optional port of digits.
bool valid_authority(std::string_view authority);

// RFC 9112 §3.2.2 absolute-form, "http://host[:port]/path?query" (scheme case-insensitive): its
// scheme's security, its authority, and the origin-form target it names ("/" for an empty path,
// §3.2.1). nullopt for another form, another scheme, userinfo (RFC 9110 §4.2.4), an empty
// authority or a fragment.
struct AbsoluteTarget {
  bool secure = false;  // https
  std::string authority;
  std::string origin_form;
  bool bare = false;  // neither path nor query: for OPTIONS, the server as a whole (§3.2.4)
};
std::optional<AbsoluteTarget> parse_absolute_target(std::string_view target);

}  // namespace tessera::http
