// What the blocking HttpClient and the AsyncHttpClient share (src/http's own .cpp files only:
// the public headers stay Beast-free): URL parsing, the request as it goes on the wire, how a
// failed response read is reported, and the io thread's event loop.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/client.h"
#include "http/http1_parser.h"

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

// Whether an idle kept-alive connection has received bytes nobody asked for (a 408 before a
// close, or worse): it is dropped instead of used, or they would be read as the next request's
// answer (what Go's Transport calls an unsolicited response on an idle channel). One FIONREAD
// ioctl. Over TLS a record may also be a session ticket or a key update, and a connection is then
// dropped needlessly: a reconnect, never a wrong answer.
inline bool unasked_bytes(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  return socket.available(ec) > 0 || ec;
}

// Reads one answer out of a connection's read buffer with our HTTP/1.1 parser (Http1Parser;
// Beast's, used before, cost the gateway a tenth of its instructions per request). The 1xx answers
// before it are skipped (RFC 9110 §15.2: a client MUST parse them, expected or not), at most
// kMaxInterimResponses of them (all within the request's read timeout); a 101 is refused (§15.2.2:
// it answers a request for an upgrade, which none of ours is, and the connection then speaks
// another protocol). A header section or trailer over max_response_header_bytes, or content over
// max_response_body_bytes (declared or actual): kResponseTooLarge; a chunk line over the header
// limit, anything else RFC 9112 does not allow, or framing that cannot be trusted:
// kProtocolError. The buffer holds at most an unfinished line under the header limit plus one read.
// Not copied or moved: the parser writes into this reader's own response.
constexpr int kMaxInterimResponses = 16;
class ResponseReader {
 public:
  // `method`: the request's; an answer to HEAD has no content (RFC 9110 §9.3.2).
  ResponseReader(const ClientOptions& options, std::string_view method);
  ResponseReader(const ResponseReader&) = delete;
  ResponseReader& operator=(const ResponseReader&) = delete;
  enum class Step { kMore, kDone, kFailed };

  // Parses what `buffer` holds and consumes what was used.
  Step take(boost::beast::flat_buffer& buffer);
  // The room the next read goes into.
  boost::beast::flat_buffer::mutable_buffers_type prepare(boost::beast::flat_buffer& buffer) const;
  // The read failed or the peer closed (eof): the end of an answer delimited by the close
  // (RFC 9112 §6.3 item 8), or the error.
  Step read_ended(boost::system::error_code ec);

  // kDone: the answer, and whether the connection may carry another request (RFC 9112 §9.3):
  // not when `buffer` holds bytes past the answer, which no request asked for (requests are not
  // pipelined) and which would be the next request's answer.
  ClientResponse release();
  bool keep_alive(const boost::beast::flat_buffer& buffer) const {
    return parser_.keep_alive() && buffer.size() == 0;
  }
  // kFailed: why, and whether nothing of an answer came before the connection closed (a retry on
  // a fresh connection is then safe for idempotent methods; not after a 1xx: the server has the
  // request).
  const ClientError& error() const { return error_; }
  bool nothing_received() const { return nothing_received_; }

 private:
  Step fail(ClientError error);

  Http1Parser parser_;
  ClientResponse response_;
  ClientError error_{ClientErrorCode::kProtocolError, {}};
  bool head_;
  bool nothing_received_ = false;
  int interims_ = 0;
  Step step_ = Step::kMore;
};

// Called by each http::Server io thread before it runs its io_context (EventLoop::current()).
void set_current_event_loop(void* io_context);

}  // namespace tessera::http::internal
