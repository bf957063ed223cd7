#include "http/client_internal.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <cstring>
#include <utility>

#include "http/message.h"

namespace tessera::http::internal {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
using boost::system::error_code;

bool Url::host_is_ip() const {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

namespace {

bool internal_v4(uint32_t a) {
  auto in = [a](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
  return in(0x00000000, 8) ||   // "this network"
         in(0x0a000000, 8) ||   // RFC 1918
         in(0x64400000, 10) ||  // RFC 6598 shared address space
         in(0x7f000000, 8) ||   // loopback
         in(0xa9fe0000, 16) ||  // link-local
         in(0xac100000, 12) ||  // RFC 1918
         in(0xc0000000, 24) ||  // IETF protocol assignments
         in(0xc0000200, 24) ||  // TEST-NET-1
         in(0xc0586300, 24) ||  // 6to4 relay anycast (RFC 7526)
         in(0xc0a80000, 16) ||  // RFC 1918
         in(0xc6120000, 15) ||  // benchmarking (RFC 2544)
         in(0xc6336400, 24) ||  // TEST-NET-2
         in(0xcb007100, 24) ||  // TEST-NET-3
         in(0xe0000000, 4) ||   // multicast
         in(0xf0000000, 4);     // reserved, broadcast
}

uint32_t v4_at(const net::ip::address_v6::bytes_type& b, size_t i) {
  return (uint32_t{b[i]} << 24) | (uint32_t{b[i + 1]} << 16) | (uint32_t{b[i + 2]} << 8) |
         uint32_t{b[i + 3]};
}

bool zeros(const net::ip::address_v6::bytes_type& b, size_t from, size_t to) {
  return std::all_of(b.begin() + static_cast<std::ptrdiff_t>(from),
                     b.begin() + static_cast<std::ptrdiff_t>(to),
                     [](unsigned char x) { return x == 0; });
}

bool starts(const net::ip::address_v6::bytes_type& b, std::initializer_list<unsigned char> prefix) {
  return std::equal(prefix.begin(), prefix.end(), b.begin());
}

// The IPv4 address inside an IPv6 one: ::/96 (which holds :: and ::1), ::ffff:0:0/96 (RFC 4291
// §2.5.5.2), ::ffff:0:0:0/96 (RFC 2765 IPv4-translated), 64:ff9b::/96 (RFC 6052), and 6to4's
// 2002::/16 (RFC 3056; the IPv4 address in bytes 2-5).
std::optional<uint32_t> embedded_v4(const net::ip::address_v6::bytes_type& b) {
  const bool mapped = zeros(b, 0, 10) && b[10] == 0xff && b[11] == 0xff;
  const bool translated = zeros(b, 0, 8) && b[8] == 0xff && b[9] == 0xff && zeros(b, 10, 12);
  const bool nat64 = starts(b, {0x00, 0x64, 0xff, 0x9b}) && zeros(b, 4, 12);
  if (zeros(b, 0, 12) || mapped || translated || nat64) return v4_at(b, 12);
  if (starts(b, {0x20, 0x02})) return v4_at(b, 2);
  return std::nullopt;
}

}  // namespace

bool internal_address(const net::ip::address& address) {
  if (address.is_v4()) return internal_v4(address.to_v4().to_uint());
  const net::ip::address_v6::bytes_type b = address.to_v6().to_bytes();
  // IPv4 inside IPv6 is judged by the IPv4 rules.
  if (auto v4 = embedded_v4(b)) return internal_v4(*v4);
  return starts(b,
                {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}) ||   // 64:ff9b:1::/48, local NAT64 (RFC 8215)
         (starts(b, {0x01, 0x00}) && zeros(b, 2, 8)) ||    // 100::/64, discard (RFC 6666)
         (starts(b, {0x20, 0x01}) && b[2] < 0x02) ||       // 2001::/23, Teredo included
         starts(b, {0x20, 0x01, 0x0d, 0xb8}) ||            // 2001:db8::/32, documentation
         (b[0] == 0x3f && b[1] == 0xff && b[2] < 0x10) ||  // 3fff::/20, documentation (RFC 9637)
         starts(b, {0x5f, 0x00}) ||                        // 5f00::/16, SRv6 SIDs (RFC 9602)
         (b[0] & 0xfe) == 0xfc ||                          // fc00::/7, unique local
         (b[0] == 0xfe && (b[1] & 0x80) == 0x80) ||        // fe80::/10 and fec0::/10
         b[0] == 0xff;                                     // ff00::/8, multicast
}

std::optional<std::vector<net::ip::address>> interface_addresses() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return std::nullopt;
  std::vector<net::ip::address> out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      out.emplace_back(net::ip::address_v4(ntohl(in->sin_addr.s_addr)));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      net::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), in6->sin6_addr.s6_addr, bytes.size());
      out.emplace_back(net::ip::address_v6(bytes));
    }
  }
  freeifaddrs(list);
  return out;
}

namespace {

// The ways an address may be written that own_address compares: its 16 IPv6 bytes (an IPv4
// address as ::ffff:a.b.c.d, the IPv6 scope left out: a link-local address is the host's on
// any interface), and the IPv4 address it carries, if any.
struct AddressForms {
  net::ip::address_v6::bytes_type bytes;
  std::optional<uint32_t> v4;
};

AddressForms forms_of(const net::ip::address& a) {
  if (a.is_v4()) {
    const auto v4 = a.to_v4();
    return {net::ip::make_address_v6(net::ip::v4_mapped, v4).to_bytes(), v4.to_uint()};
  }
  const auto bytes = a.to_v6().to_bytes();
  return {bytes, embedded_v4(bytes)};
}

}  // namespace

bool own_address(const net::ip::address& address, const std::vector<net::ip::address>& own) {
  const AddressForms dialled = forms_of(address);
  return std::any_of(own.begin(), own.end(), [&dialled](const net::ip::address& a) {
    const AddressForms mine = forms_of(a);
    return mine.bytes == dialled.bytes || (mine.v4 && mine.v4 == dialled.v4);
  });
}

bool refused_address(const net::ip::address& address,
                     const std::optional<std::vector<net::ip::address>>& own) {
  return internal_address(address) || !own || own_address(address, *own);
}

std::optional<Url> parse_url(std::string_view s) {
  Url u;
  if (s.starts_with("https://")) {
    u.secure = true;
    s.remove_prefix(8);
  } else if (s.starts_with("http://")) {
    s.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  size_t slash = s.find_first_of("/?#");
  std::string_view authority = s.substr(0, slash);
  std::string_view rest = slash == std::string_view::npos ? std::string_view() : s.substr(slash);
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view port_text;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (u.host.empty()) return std::nullopt;
  if (!port_text.empty()) {
    unsigned port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9') return std::nullopt;
      port = port * 10 + static_cast<unsigned>(c - '0');
      if (port > 65535) return std::nullopt;
    }
    if (port == 0) return std::nullopt;
    u.port = static_cast<uint16_t>(port);
  } else {
    u.port = u.secure ? 443 : 80;
  }
  u.target = rest.empty() ? "/" : std::string(rest);
  if (u.target.front() == '?') u.target.insert(0, "/");
  return u;
}

ClientError error(ClientErrorCode code, std::string message) { return {code, std::move(message)}; }

Result<std::string, ClientError> build_request(const ClientRequest& request, const Url& url,
                                               std::string_view user_agent) {
  if (!is_token(request.method)) {
    return Err(error(ClientErrorCode::kInvalidRequest, "the method is not a token"));
  }
  if (std::any_of(url.target.begin(), url.target.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    return Err(
        error(ClientErrorCode::kInvalidUrl, "the target holds whitespace or a control character"));
  }
  if (request.method == "TRACE" && !request.body.empty()) {
    return Err(error(ClientErrorCode::kInvalidRequest, "content in a TRACE request"));
  }
  // RFC 9110 §8.6: Content-Length for any content, and for none when the method gives content
  // a meaning.
  const bool with_length = !request.body.empty() || request.method == "POST" ||
                           request.method == "PUT" || request.method == "PATCH";
  size_t size = request.method.size() + url.target.size() + url.host.size() + user_agent.size() +
                request.body.size() + 96;
  for (const auto& [name, value] : request.headers) size += name.size() + value.size() + 4;
  std::string out;
  out.reserve(size);
  out.append(request.method).append(" ").append(url.target).append(" HTTP/1.1\r\nHost: ");
  // RFC 9112 §3.2, RFC 9110 §7.2: the URI's authority, an IPv6 literal in brackets, the port
  // only when it is not the scheme's default.
  const size_t authority_at = out.size();
  if (url.host.find(':') != std::string::npos) {
    // An IPv6 zone (fe80::1%eth0) means something on this host alone: not sent (RFC 6874 §4).
    out.append("[").append(std::string_view(url.host).substr(0, url.host.find('%'))).append("]");
  } else {
    out.append(url.host);
  }
  if (url.port != (url.secure ? 443 : 80)) out.append(":").append(std::to_string(url.port));
  if (!valid_authority(std::string_view(out).substr(authority_at))) {
    return Err(error(ClientErrorCode::kInvalidUrl, "the URL's host is not a host"));
  }
  out.append("\r\n");
  // The client's own User-Agent unless the caller names one.
  if (!user_agent.empty() && !request.headers.contains("User-Agent")) {
    out.append("User-Agent: ").append(user_agent).append("\r\n");
  }
  for (const auto& [name, value] : request.headers) {
    if (iequals(name, "Host") || iequals(name, "Content-Length") ||
        iequals(name, "Transfer-Encoding") || iequals(name, "Connection")) {
      continue;
    }
    if (!is_token(name)) {
      return Err(error(ClientErrorCode::kInvalidRequest, "a field name is not a token"));
    }
    if (!safe_field_value(value)) {
      return Err(error(ClientErrorCode::kInvalidRequest, "a control character in a field value"));
    }
    out.append(name).append(": ").append(trim_ows(value)).append("\r\n");
  }
  if (with_length) {
    out.append("Content-Length: ").append(std::to_string(request.body.size())).append("\r\n");
  }
  out.append("\r\n").append(request.body);
  return out;
}

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS";
}

namespace {

// The error a read ended in; `nothing_received` is set when the peer closed before a byte of the
// answer came.
ClientError read_failure(error_code ec, bool got_some, bool& nothing_received) {
  if (ec == beast::error::timeout) {
    return error(ClientErrorCode::kTimeout, "reading response timed out");
  }
  nothing_received = !got_some;
  // A TLS connection closed without close_notify (stream_truncated) may be an attacker's cut
  // (RFC 8446 §6.1): never the end of an answer, only a closed connection.
  if (ec == net::error::eof || ec == net::error::connection_reset ||
      ec == ssl::error::stream_truncated) {
    return error(ClientErrorCode::kConnectionClosed, "connection closed: " + ec.message());
  }
  return error(ClientErrorCode::kConnectionClosed, "read: " + ec.message());
}

// The first read of an answer: most answers fit, and it is no larger than the room the buffer
// already has; once content is coming, reads are as large as the server's (http::Server).
constexpr size_t kHeadReadSize = 4096;
constexpr size_t kContentReadSize = size_t{64} * 1024;

}  // namespace

ResponseReader::ResponseReader(const ClientOptions& options, std::string_view method)
    : parser_(Http1Parser::Kind::kResponse, options.max_response_header_bytes,
              static_cast<size_t>(options.max_response_body_bytes)),
      head_(method == "HEAD") {
  parser_.start(response_.headers, response_.body, head_);
  response_.headers.reserve(16);  // one allocation for the usual answer's fields
}

ResponseReader::Step ResponseReader::fail(ClientError error) {
  error_ = std::move(error);
  return step_ = Step::kFailed;
}

ResponseReader::Step ResponseReader::take(beast::flat_buffer& buffer) {
  while (step_ == Step::kMore && buffer.size() > 0) {
    const auto data = buffer.data();
    buffer.consume(
        parser_.put(std::string_view(static_cast<const char*>(data.data()), data.size())));
    switch (parser_.error()) {
      case Http1Parser::Error::kNone:
        break;
      case Http1Parser::Error::kHeaderTooLarge:
      case Http1Parser::Error::kContentTooLarge:
        return fail(internal::error(ClientErrorCode::kResponseTooLarge, "response too large"));
      default:
        return fail(internal::error(ClientErrorCode::kProtocolError, "malformed response"));
    }
    if (!parser_.done()) break;  // the buffer holds an unfinished line at most
    const int status = parser_.status();
    if (status == 101) {
      return fail(
          internal::error(ClientErrorCode::kProtocolError,
                          "101 Switching Protocols to a request that asked for no upgrade"));
    }
    if (status >= 200) return step_ = Step::kDone;
    if (++interims_ > kMaxInterimResponses) {
      return fail(internal::error(ClientErrorCode::kProtocolError, "too many 1xx answers"));
    }
    parser_.start(response_.headers, response_.body, head_);  // the 1xx's fields are let go
  }
  return step_;
}

beast::flat_buffer::mutable_buffers_type ResponseReader::prepare(beast::flat_buffer& buffer) const {
  const size_t room = buffer.capacity() - buffer.size();
  return buffer.prepare(parser_.header_done() ? kContentReadSize
                                              : std::clamp(room, kHeadReadSize, kContentReadSize));
}

ResponseReader::Step ResponseReader::read_ended(error_code ec) {
  if (ec == net::error::eof && parser_.put_eof()) return step_ = Step::kDone;
  // After a 1xx the server has the request: it is not sent again.
  ClientError err = read_failure(ec, parser_.got_some() || interims_ > 0, nothing_received_);
  return fail(std::move(err));
}

ClientResponse ResponseReader::release() {
  response_.status = parser_.status();
  return std::move(response_);
}

}  // namespace tessera::http::internal

namespace tessera::http {

bool is_https_or_loopback(std::string_view url) {
  if (std::any_of(url.begin(), url.end(), [](char c) {
        return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '\\';
      })) {
    return false;
  }
  auto parsed = internal::parse_url(url);
  if (!parsed) return false;
  return parsed->secure || parsed->host == "127.0.0.1" || parsed->host == "localhost" ||
         parsed->host == "::1";
}

}  // namespace tessera::http
