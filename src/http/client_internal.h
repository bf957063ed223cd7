// What the blocking HttpClient and the AsyncHttpClient share (src/http's own .cpp files only:
// the public headers stay Beast-free): URL parsing, the request as it goes on the wire, how a
// failed response read is reported, and the io thread's event loop.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/optional/optional.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/client.h"

namespace tessera::http::internal {

struct Url {
  bool secure = false;
  std::string host;  // without brackets
  uint16_t port = 0;
  std::string target;  // path + query, at least "/"
  std::string pool_key() const {
    return (secure ? "https://" : "http://") + host + ":" + std::to_string(port);
  }
  bool host_is_ip() const;
};

// An absolute http or https URL without userinfo; nullopt otherwise.
std::optional<Url> parse_url(std::string_view s);

// Whether `address` belongs to this machine, a private network, or a range no public service
// lives in (the IANA special-purpose registries, RFC 6890): IPv4 0/8, 10/8, 100.64/10
// (RFC 6598), 127/8, 169.254/16, 172.16/12, 192.0.0/24, the three TEST-NETs, 192.88.99/24,
// 192.168/16, 198.18/15, 224/4, 240/4; IPv6 64:ff9b:1::/48, 100::/64, 2001::/23 (Teredo
// included), 2001:db8::/32, 3fff::/20, 5f00::/16, fc00::/7, fe80::/10, fec0::/10, ff00::/8; and
// IPv4 inside IPv6
// (::/96, ::ffff:0:0/96, ::ffff:0:0:0/96, 64:ff9b::/96, 6to4's 2002::/16) by the IPv4 rules.
// Not known here: this host's own public addresses (own_address), or a NAT64 prefix of the
// operator's own. A server told where to go by a stranger (a registered client's jwks_uri or
// logout URI) must not go there.
bool internal_address(const boost::asio::ip::address& address);

// The addresses of this host's network interfaces as getifaddrs(3) lists them now (IPv4 and
// IPv6, any state, in this process's network namespace); nullopt when they cannot be listed.
std::optional<std::vector<boost::asio::ip::address>> interface_addresses();

// Whether `address` is one of `own` (this host's addresses): the same address, or the same IPv4
// address inside IPv6 on either side (the forms internal_address reads: mapped, compatible,
// translated, NAT64 64:ff9b::/96, 6to4), the IPv6 scope left out.
bool own_address(const boost::asio::ip::address& address,
                 const std::vector<boost::asio::ip::address>& own);

// What a client that dials only public addresses refuses: internal_address, or one of `own`
// (interface_addresses(): a public address of this host reaches its own listeners as 127.0.0.1
// does). Every address when `own` could not be read: refusing is the safe side.
bool refused_address(const boost::asio::ip::address& address,
                     const std::optional<std::vector<boost::asio::ip::address>>& own);

ClientError error(ClientErrorCode code, std::string message);

// `request` for `url` as HTTP/1.1 puts it on the wire (RFC 9112 §2.1): the request line, Host
// from the URL, `user_agent` unless the caller names a User-Agent, the caller's fields without the
// framing ones (Host, Content-Length, Transfer-Encoding, Connection: set here), Content-Length,
// then the content; persistent (§9.3). Written straight into one buffer, not through Beast's
// serializer: the gateway sends one per request. kInvalidRequest for what HTTP/1.1 cannot carry: a
// method that is not a token (RFC 9110 §9.1), a field name that is not one (§5.1), a control
// character but HTAB in a value (§5.5), a target with whitespace or a control character (RFC 9112
// §3.2), content in a TRACE (RFC 9110 §9.3.8).
Result<std::string, ClientError> build_request(const ClientRequest& request, const Url& url,
                                               std::string_view user_agent);

// RFC 9110 §9.2.2: a request that may be sent again when a reused connection closed before any
// answer (RFC 9112 §9.3.1).
bool idempotent(std::string_view method);

// The error a response read ended in; `nothing_received` is set when the peer closed before a
// byte of the response came (a retry on a fresh connection is then safe for idempotent methods).
ClientError read_failure(boost::system::error_code ec, bool got_some, bool& nothing_received);

// What a connection's read buffer may hold at once: a header section, and a chunk line or trailer
// (which Beast 1.74 reads with no limit of its own), with a read's worth of content beside it
// (the parser takes content as it comes). Past it a read fails (buffer_overflow:
// kProtocolError), so a hostile server cannot grow it without bound.
inline size_t read_buffer_limit(const ClientOptions& options) {
  return size_t{options.max_response_header_bytes} + size_t{128} * 1024;
}

// An answer parsed straight into a ClientResponse: each field is copied once, from the read
// buffer into its Headers (Beast's own parser keeps a field list of its own first).
class ResponseParser final : public boost::beast::http::basic_parser<false> {
 public:
  const ClientResponse& get() const { return response_; }
  ClientResponse release() { return std::move(response_); }

 private:
  using string_view = boost::beast::string_view;
  using error_code = boost::system::error_code;
  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, string_view, int, error_code&) override {
    response_.status = code;
    response_.headers.reserve(16);  // one allocation for the usual answer's fields
  }
  void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                     error_code&) override {
    // RFC 9110 §6.5.1: a trailer field is not merged into the header section (Beast reports the
    // trailer's fields here too, after the last chunk).
    if (in_trailer_) return;
    response_.headers.add(std::string_view(name.data(), name.size()),
                          std::string_view(value.data(), value.size()));
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    // The size was checked against the limit (judge_header, and basic_parser's body_limit).
    if (length) response_.body.reserve(static_cast<size_t>(*length));
  }
  size_t on_body_impl(string_view body, error_code&) override { return append(body); }
  void on_chunk_header_impl(std::uint64_t size, string_view, error_code&) override {
    if (size == 0) in_trailer_ = true;  // the last chunk (RFC 9112 §7.1)
  }
  size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
    return append(body);
  }
  size_t append(string_view content) {
    response_.body.append(content.data(), content.size());
    return content.size();
  }
  void on_finish_impl(error_code&) override {}

  ClientResponse response_;
  bool in_trailer_ = false;
};

// The parser for the answer to a `method` request: the size limits, and no body expected after
// HEAD (RFC 9110 §9.3.2, whatever Content-Length says).
void prepare_parser(ResponseParser& parser, const ClientOptions& options, std::string_view method);

// What a header section just read is. Both clients read the header first: Boost.Beast 1.74
// reads a whole message "eagerly" and loses the body_limit error when the header and the first
// body bytes arrive in one read (boostorg/beast#2183).
// - kInterim: a 1xx to skip (RFC 9110 §15.2: a client MUST parse 1xx answers before the final
//   one, expected or not), counted in `interims`; read the next header.
// - kFinal: the answer; read its body, if any.
// - an error: more than kMaxInterimResponses 1xx (all within the request's read timeout); a 101
//   (§15.2.2: it answers a request for an upgrade, which none of ours is, and the connection then
//   speaks another protocol: dropped); a declared Content-Length over the limit
//   (kResponseTooLarge). After the body, `body_over_limit` checks what actually came (chunked
//   bodies).
constexpr int kMaxInterimResponses = 16;
enum class HeaderKind { kInterim, kFinal };
Result<HeaderKind, ClientError> judge_header(const ResponseParser& parser,
                                             const ClientOptions& options, int& interims);
std::optional<ClientError> body_over_limit(const ResponseParser& parser,
                                           const ClientOptions& options);

// Called by each http::Server io thread before it runs its io_context (EventLoop::current()).
void set_current_event_loop(void* io_context);

}  // namespace tessera::http::internal
