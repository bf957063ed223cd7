// What the blocking HttpClient and the AsyncHttpClient share (src/http's own .cpp files only:
// the public headers stay Beast-free): URL parsing, the request as it goes on the wire, how a
// failed response read is reported, and the io thread's event loop.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
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

// `request` for `url` as HTTP/1.1 puts it on the wire: Host from the URL, the framing fields
// (Host, Content-Length, Transfer-Encoding, Connection) the caller gave dropped and set here,
// keep-alive.
boost::beast::http::request<boost::beast::http::string_body> build_request(
    const ClientRequest& request, const Url& url, const std::string& user_agent);

// RFC 9110 §9.2.2: a request that may be sent again when a reused connection closed before any
// answer (RFC 9112 §9.3.1).
bool idempotent(std::string_view method);

// The error a response read ended in; `nothing_received` is set when the peer closed before a
// byte of the response came (a retry on a fresh connection is then safe for idempotent methods).
ClientError read_failure(boost::system::error_code ec, bool got_some, bool& nothing_received);

using ResponseParser = boost::beast::http::response_parser<boost::beast::http::string_body>;

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

ClientResponse to_client_response(
    boost::beast::http::response<boost::beast::http::string_body> msg);

// Called by each http::Server io thread before it runs its io_context (EventLoop::current()).
void set_current_event_loop(void* io_context);

}  // namespace tessera::http::internal
