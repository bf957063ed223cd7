#include "http/server.h"

#include <gtest/gtest.h>

#include <csignal>
#include <future>
#include <thread>

#include "core/json.h"
#include "http/client.h"
#include "test_support.h"

namespace tessera::http {
namespace {

using testing::body_of;
using testing::header_of;
using testing::RawConnection;
using testing::start_server;
using testing::status_of;

Router demo_router() {
  Router r;
  r.get("/hello", [](const Request&) { return Response::json(200, {{"hello", "world"}}); });
  r.get("/stores/{id}/check", [](const Request& req) {
    return Response::json(200, {{"store", *req.param("id")},
                                {"user", std::string(req.query().get("user").value_or(""))}});
  });
  r.post("/echo", [](const Request& req) { return Response::text(200, req.body()); });
  auto where = [](const Request& req) {
    return Response::json(200, {{"target", req.target()},
                                {"path", req.path()},
                                {"host", std::string(req.header("Host").value_or(""))}});
  };
  r.get("/where/{id}", where);
  r.get("/", where);
  r.get("/throws", [](const Request&) -> Response { throw std::runtime_error("boom"); });
  r.get("/split", [](const Request&) {
    Response resp(200);
    resp.headers.add("X-Bad", "a\r\nSet-Cookie: evil=1");
    return resp;
  });
  return r;
}

// Everything the server answers to `bytes` on a new connection, until it closes.
std::string answer_to(const testing::RunningServer& s, std::string_view bytes) {
  RawConnection c(s.port());
  c.send(bytes);
  return c.read_until_closed();
}

std::string get(std::string_view path, std::string_view extra = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

TEST(ServerRouting, PathAndQueryParametersReachTheHandler) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send(get("/stores/s%201/check?user=al%20ice"));
  std::string resp = c.read_response();
  EXPECT_EQ(status_of(resp), 200);
  auto j = json::parse_strict(body_of(resp));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["store"], "s 1");
  EXPECT_EQ((*j)["user"], "al ice");
  EXPECT_EQ(header_of(resp, "Content-Type"), "application/json");
  EXPECT_FALSE(header_of(resp, "Date").empty());
  EXPECT_FALSE(header_of(resp, "X-Request-Id").empty());
}

TEST(ServerRouting, UnknownPathIsJson404) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send(get("/nope"));
  std::string resp = c.read_response();
  EXPECT_EQ(status_of(resp), 404);
  EXPECT_EQ(header_of(resp, "Content-Type"), "application/json");
  auto j = json::parse_strict(body_of(resp));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["error"], "not_found");
}

TEST(ServerRouting, WrongMethodIsJson405WithAllow) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send("DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string resp = c.read_response();
  EXPECT_EQ(status_of(resp), 405);
  EXPECT_EQ(header_of(resp, "Allow"), "GET, HEAD");
  EXPECT_TRUE(json::parse_strict(body_of(resp)).ok());
}

TEST(ServerRouting, ThrowingHandlerGivesJson500AndServerKeepsServing) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send(get("/throws"));
  std::string resp = c.read_response();
  EXPECT_EQ(status_of(resp), 500);
  EXPECT_EQ(header_of(resp, "Content-Type"), "application/json");
  EXPECT_EQ(body_of(resp).find("boom"), std::string::npos);
  c.send(get("/hello"));
  EXPECT_EQ(status_of(c.read_response()), 200);
  EXPECT_NE(s.server->metrics_text().find("tessera_http_handler_exceptions_total 1"),
            std::string::npos);
}

TEST(ServerRouting, HeaderWithCrLfFromHandlerIsRefusedNotSent) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send(get("/split"));
  std::string resp = c.read_response();
  EXPECT_EQ(status_of(resp), 500);
  EXPECT_EQ(resp.find("evil"), std::string::npos);
}

TEST(ServerRouting, HeadGetsHeadersWithoutBody) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send("HEAD /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  std::string resp = c.read_until_closed();
  EXPECT_EQ(status_of(resp), 200);
  EXPECT_EQ(header_of(resp, "Content-Length"), "17");
  EXPECT_EQ(body_of(resp), "");
}

TEST(ServerRouting, MissingHostInHttp11IsJson400) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send("GET /hello HTTP/1.1\r\n\r\n");
  std::string resp = c.read_until_closed();
  EXPECT_EQ(status_of(resp), 400);
  EXPECT_EQ(header_of(resp, "Connection"), "close");
}

// RFC 9112 §3.2: a Host that is not uri-host [ ":" port ] is 400, like a missing or repeated one.
TEST(ServerRouting, AnInvalidHostIs400) {
  auto s = start_server(demo_router());
  for (const char* bad : {"user@t", "t t", "t:80x", "[::1", "t/x"}) {
    EXPECT_EQ(
        status_of(answer_to(s, "GET /hello HTTP/1.1\r\nHost: " + std::string(bad) + "\r\n\r\n")),
        400)
        << bad;
  }
  // Two Host fields are 400 in any version, HTTP/1.0 included.
  EXPECT_EQ(status_of(answer_to(s, "GET /hello HTTP/1.0\r\nHost: t\r\nHost: u\r\n\r\n")), 400);
  // The 400 to a HEAD carries no content (RFC 9110 §9.3.2).
  const std::string head = answer_to(s, "HEAD /hello HTTP/1.1\r\nHost: a b\r\n\r\n");
  EXPECT_EQ(status_of(head), 400);
  EXPECT_EQ(body_of(head), "");
  EXPECT_NE(header_of(head, "Content-Length"), "");
  for (const char* good : {"t", "t:8080", "[::1]:8080", "127.0.0.1", "a-b.example.", ""}) {
    RawConnection c(s.port());
    c.send("GET /hello HTTP/1.1\r\nHost: " + std::string(good) + "\r\n\r\n");
    EXPECT_EQ(status_of(c.read_response()), 200) << good;
  }
}

// RFC 9110 §10.1.1: a client that expects 100-continue sends the content after the 100.
TEST(ServerBody, ExpectContinueGetsA100BeforeTheContentIsSent) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(c.read_response(), "HTTP/1.1 100 Continue\r\n\r\n");
  c.send("hello");
  std::string resp = c.read_response();
  EXPECT_EQ(status_of(resp), 200);
  EXPECT_EQ(body_of(resp), "hello");
  // Content sent with the header already: the final answer (after a 100 only if the content came
  // in a later read, which a server may still answer so).
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
  resp = c.read_response();
  if (status_of(resp) == 100) resp = c.read_response();
  EXPECT_EQ(status_of(resp), 200);
  EXPECT_EQ(body_of(resp), "hi");
  // A body too large is refused at once, without a 100.
  c.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: "
      "999999999\r\n\r\n");
  EXPECT_EQ(status_of(c.read_until_closed()), 413);
}

TEST(ServerBody, NoInterimAnswerToAnHttp10Client) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  // RFC 9110 §15.2: a server MUST NOT send a 1xx response to an HTTP/1.0 client.
  c.send("POST /echo HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  c.send("hello");
  std::string resp = c.read_until_closed();
  EXPECT_EQ(status_of(resp), 200) << resp;
  EXPECT_EQ(resp.find("100 Continue"), std::string::npos);
}

// RFC 9112 §3.2.2: a server MUST accept the absolute-form; its target URI is the request-target
// (§3.3), so the path routes and the URI's authority stands for Host.
TEST(ServerRouting, AbsoluteFormTargetIsRoutedByItsPathWithItsAuthorityForHost) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send("GET HTTP://api.example.com:8080/where/7?x=1 HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string resp = c.read_response();
  ASSERT_EQ(status_of(resp), 200) << resp;
  auto j = json::parse_strict(body_of(resp));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["target"], "/where/7?x=1");
  EXPECT_EQ((*j)["path"], "/where/7");
  EXPECT_EQ((*j)["host"], "api.example.com:8080");
  // An empty path is "/" (§3.2.1); the connection stays open for the next request.
  c.send("GET http://api.example.com?x=1 HTTP/1.1\r\nHost: t\r\n\r\n");
  resp = c.read_response();
  ASSERT_EQ(status_of(resp), 200) << resp;
  j = json::parse_strict(body_of(resp));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["target"], "/?x=1");
  EXPECT_EQ((*j)["host"], "api.example.com");
  c.send(get("/hello"));
  EXPECT_EQ(status_of(c.read_response()), 200);
}

// RFC 9110 §9.3.7: OPTIONS with the asterisk-form (RFC 9112 §3.2.4), or an absolute-form with
// neither path nor query (§3.2.2), asks about the server as a whole: 200 with Allow, no content.
TEST(ServerRouting, OptionsForTheWholeServerListsItsMethods) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  for (const char* target : {"*", "http://api.example.com:8080"}) {
    c.send("OPTIONS " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n\r\n");
    std::string resp = c.read_response();
    EXPECT_EQ(status_of(resp), 200) << target << ": " << resp;
    EXPECT_EQ(header_of(resp, "Allow"), "GET, HEAD, OPTIONS, POST") << target;
    EXPECT_EQ(header_of(resp, "Content-Length"), "0") << target;
  }
  // With a path, or a query, it is a resource's OPTIONS, routed as any request (none here).
  c.send("OPTIONS http://api.example.com/ HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(status_of(c.read_response()), 405);
  c.send("OPTIONS http://api.example.com?x HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(status_of(c.read_response()), 405);
  // The asterisk-form with another method is malformed.
  c.send("GET * HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(status_of(c.read_until_closed()), 400);
}

TEST(ServerRouting, AbsoluteFormOfAnotherSchemeOrWithUserinfoIsRefused) {
  auto s = start_server(demo_router());
  {
    RawConnection c(s.port());
    c.send("GET https://api.example.com/where/7 HTTP/1.1\r\nHost: t\r\n\r\n");
    std::string resp = c.read_until_closed();
    EXPECT_EQ(status_of(resp), 421) << "an https URI on a plain connection";
    auto j = json::parse_strict(body_of(resp));
    ASSERT_TRUE(j.ok());
    EXPECT_EQ((*j)["error"], "misdirected_request");
  }
  for (const char* target : {"http://user@api.example.com/where/7", "ftp://api.example.com/where/7",
                             "http:///where/7", "http://api.example.com/where/7#f"}) {
    RawConnection c(s.port());
    c.send("GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_EQ(status_of(c.read_until_closed()), 400) << target;
  }
  // The access log keeps no userinfo (a password in the URI) of a refused target.
  RawConnection c(s.port());
  c.send("GET http://user:hunter2@api.example.com/where/7 HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(status_of(c.read_until_closed()), 400);
  const std::vector<std::string> lines = s.log->lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find("/where/7"), std::string::npos) << lines.back();
  for (const auto& line : lines) EXPECT_EQ(line.find("hunter2"), std::string::npos) << line;
}

// The header section alone can be refused: no 100 for a request whose Host is missing, and no
// content read for it.
TEST(ServerBody, ARequestRefusedByItsHeaderGetsNo100) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send(
      "POST https://t/echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
      "Content-Length: 5\r\n\r\n");
  std::string resp = c.read_until_closed();
  EXPECT_EQ(status_of(resp), 421) << resp;
  EXPECT_EQ(resp.find("100 Continue"), std::string::npos);
}

TEST(ServerRouting, MalformedRequestIsJson400AndClosed) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n");
  std::string resp = c.read_until_closed();
  EXPECT_EQ(status_of(resp), 400);
  EXPECT_TRUE(json::parse_strict(body_of(resp)).ok());
}

// RFC 9112 §6.3 item 4: a Transfer-Encoding that does not end in chunked leaves the length
// unknown; the server answers 400 and closes, so the bytes after the head are never read as a
// second request (Beast read the first as a request without content, then the second).
TEST(ServerRouting, ATransferEncodingNotEndingInChunkedIs400AndNothingMoreIsRead) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunkedx\r\n\r\n" + get("/hello"));
  std::string all = c.read_until_closed();
  EXPECT_EQ(status_of(all), 400);
  EXPECT_EQ(header_of(all, "Connection"), "close");
  EXPECT_EQ(all.find("HTTP/1.1", 1), std::string::npos) << all;  // one answer only
  EXPECT_EQ(s.log->lines().size(), 1u);
}

TEST(ServerRouting, OtherTransferCodingsAre501AndOtherVersions505) {
  auto s = start_server(demo_router());
  const std::string coding = answer_to(
      s, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(status_of(coding), 501);  // RFC 9112 §6.1
  EXPECT_TRUE(json::parse_strict(body_of(coding)).ok());
  const std::string version = answer_to(s, "GET /hello HTTP/2.0\r\nHost: t\r\n\r\n");
  EXPECT_EQ(status_of(version), 505);  // RFC 9110 §15.6.6
  EXPECT_EQ(header_of(version, "Connection"), "close");
}

// An error answer after a HEAD on the same connection carries its content: the HEAD's framing
// (no content) is not carried over to the next request.
TEST(ServerRouting, AnErrorAnswerAfterAHeadHasItsContent) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
  std::string head = c.read_response();
  ASSERT_EQ(status_of(head), 200);
  std::string all = c.read_until_closed();
  // read_response took Content-Length bytes after the HEAD's head: none were sent, so what it
  // returned ends at the HEAD's blank line and the 400 follows whole.
  const size_t at = (head + all).find("HTTP/1.1 400");
  ASSERT_NE(at, std::string::npos) << head << all;
  const std::string error = (head + all).substr(at);
  EXPECT_EQ(body_of(error).size(), std::stoul(header_of(error, "Content-Length")));
  EXPECT_GT(body_of(error).size(), 0u);
}

// RFC 9112 §2.2: empty lines before a request-line are ignored, and a CRLF some clients send after
// a POST's content does not count as a request begun.
TEST(ServerKeepAlive, EmptyLinesBeforeARequestAreIgnored) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi\r\n");
  EXPECT_EQ(body_of(c.read_response()), "hi");
  c.send("\r\n" + get("/hello"));
  EXPECT_EQ(status_of(c.read_response()), 200);
}

TEST(ServerKeepAlive, SeveralRequestsShareOneConnection) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(get("/hello")));
    std::string resp = c.read_response();
    EXPECT_EQ(status_of(resp), 200);
    EXPECT_EQ(header_of(resp, "Connection"), "");
  }
  EXPECT_NE(s.server->metrics_text().find("tessera_http_connections_accepted_total 1\n"),
            std::string::npos);
}

TEST(ServerKeepAlive, ConnectionCloseIsHonoured) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send(get("/hello", "Connection: close\r\n"));
  std::string all = c.read_until_closed();
  EXPECT_EQ(status_of(all), 200);
  EXPECT_EQ(header_of(all, "Connection"), "close");
}

TEST(ServerKeepAlive, PipelinedRequestsAreAnsweredInOrder) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send(get("/hello") + get("/nope"));
  EXPECT_EQ(status_of(c.read_response()), 200);
  EXPECT_EQ(status_of(c.read_response()), 404);
}

TEST(ServerLimits, OversizedHeaderIs431) {
  ServerOptions o;
  o.max_header_bytes = 1024;
  auto s = start_server(demo_router(), o);
  RawConnection c(s.port());
  c.send(get("/hello", "X-Big: " + std::string(4000, 'a') + "\r\n"));
  std::string resp = c.read_until_closed();
  EXPECT_EQ(status_of(resp), 431);
  EXPECT_TRUE(json::parse_strict(body_of(resp)).ok());
}

TEST(ServerLimits, OversizedBodyIs413) {
  ServerOptions o;
  o.max_body_bytes = 16;
  auto s = start_server(demo_router(), o);
  RawConnection c(s.port());
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'));
  std::string resp = c.read_until_closed();
  EXPECT_EQ(status_of(resp), 413);
}

TEST(ServerLimits, OversizedChunkedBodyIs413) {
  ServerOptions o;
  o.max_body_bytes = 16;
  auto s = start_server(demo_router(), o);
  RawConnection c(s.port());
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" +
         std::string(32, 'x') + "\r\n0\r\n\r\n");
  EXPECT_EQ(status_of(c.read_until_closed()), 413);
}

TEST(ServerLimits, BodyWithinLimitIsEchoed) {
  ServerOptions o;
  o.max_body_bytes = 16;
  auto s = start_server(demo_router(), o);
  RawConnection c(s.port());
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  std::string resp = c.read_response();
  EXPECT_EQ(status_of(resp), 200);
  EXPECT_EQ(body_of(resp), "hello");
}

TEST(ServerLimits, SlowHeaderIs408) {
  ServerOptions o;
  o.header_timeout = std::chrono::milliseconds(100);
  auto s = start_server(demo_router(), o);
  RawConnection c(s.port());
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\n");  // slowloris: never finishes the header
  std::string resp = c.read_until_closed();
  EXPECT_EQ(status_of(resp), 408);
  EXPECT_EQ(header_of(resp, "Connection"), "close");
}

TEST(ServerLimits, SlowBodyIs408) {
  ServerOptions o;
  o.body_timeout = std::chrono::milliseconds(100);
  auto s = start_server(demo_router(), o);
  RawConnection c(s.port());
  c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab");
  EXPECT_EQ(status_of(c.read_until_closed()), 408);
}

TEST(ServerLimits, IdleKeepAliveConnectionIsClosedWithoutResponse) {
  ServerOptions o;
  o.idle_timeout = std::chrono::milliseconds(100);
  auto s = start_server(demo_router(), o);
  RawConnection c(s.port());
  c.send(get("/hello"));
  EXPECT_EQ(status_of(c.read_response()), 200);
  EXPECT_EQ(c.read_until_closed(), "");
}

TEST(ServerLimits, ConnectionOverTheLimitGets503AndClose) {
  ServerOptions o;
  o.max_connections = 2;
  auto s = start_server(demo_router(), o);
  RawConnection a(s.port()), b(s.port());
  a.send(get("/hello"));
  b.send(get("/hello"));
  ASSERT_EQ(status_of(a.read_response()), 200);
  ASSERT_EQ(status_of(b.read_response()), 200);
  RawConnection third(s.port());
  std::string resp = third.read_until_closed();
  EXPECT_EQ(status_of(resp), 503);
  EXPECT_EQ(header_of(resp, "Connection"), "close");
  EXPECT_TRUE(json::parse_strict(body_of(resp)).ok());
  // The first connections still work.
  a.send(get("/hello"));
  EXPECT_EQ(status_of(a.read_response()), 200);
}

TEST(ServerLimits, RequestRateOverTheLimitIs429WithRetryAfter) {
  ServerOptions o;
  o.max_requests_per_second = 1;
  o.request_burst = 2;
  auto s = start_server(demo_router(), o);
  RawConnection c(s.port());
  c.send(get("/hello"));
  EXPECT_EQ(status_of(c.read_response()), 200);
  c.send(get("/hello"));
  EXPECT_EQ(status_of(c.read_response()), 200);
  c.send(get("/hello"));
  std::string resp = c.read_response();
  EXPECT_EQ(status_of(resp), 429);
  EXPECT_EQ(header_of(resp, "Retry-After"), "1");
  EXPECT_TRUE(json::parse_strict(body_of(resp)).ok());
}

TEST(ServerLimits, MaxRequestsPerConnectionClosesAfterTheLast) {
  ServerOptions o;
  o.max_requests_per_connection = 2;
  auto s = start_server(demo_router(), o);
  RawConnection c(s.port());
  c.send(get("/hello"));
  EXPECT_EQ(header_of(c.read_response(), "Connection"), "");
  c.send(get("/hello"));
  std::string last = c.read_until_closed();
  EXPECT_EQ(status_of(last), 200);
  EXPECT_EQ(header_of(last, "Connection"), "close");
}

TEST(ServerBuiltins, HealthReadyAndReadyFlag) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send(get("/healthz"));
  EXPECT_EQ(status_of(c.read_response()), 200);
  c.send(get("/readyz"));
  EXPECT_EQ(status_of(c.read_response()), 200);
  s.server->set_ready(false);
  c.send(get("/readyz"));
  EXPECT_EQ(status_of(c.read_response()), 503);
}

TEST(ServerBuiltins, CanBeDisabled) {
  ServerOptions o;
  o.builtin_routes = false;
  auto s = start_server(demo_router(), o);
  RawConnection c(s.port());
  c.send(get("/metrics"));
  EXPECT_EQ(status_of(c.read_response()), 404);
}

TEST(ServerMetrics, ExposesCountsAndHistogramsByRoutePatternAndStatus) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  for (const char* path : {"/stores/1/check", "/stores/2/check", "/nope"}) {
    c.send(get(path));
    c.read_response();
  }
  c.send(get("/metrics"));
  std::string resp = c.read_response();
  EXPECT_EQ(status_of(resp), 200);
  EXPECT_EQ(header_of(resp, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  std::string text = body_of(resp);
  EXPECT_NE(text.find("# TYPE tessera_http_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE tessera_http_request_duration_seconds histogram\n"),
            std::string::npos);
  EXPECT_NE(text.find("tessera_http_requests_total{route=\"/stores/{id}/check\",method=\"GET\","
                      "status=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("tessera_http_requests_total{route=\"<unmatched>\",method=\"*\","
                      "status=\"404\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("tessera_http_request_duration_seconds_bucket{route=\"/stores/{id}/"
                      "check\",method=\"GET\",le=\"+Inf\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("tessera_http_request_duration_seconds_count{route=\"/stores/{id}/"
                      "check\",method=\"GET\"} 2\n"),
            std::string::npos);
  EXPECT_EQ(text.find("/stores/1/check"), std::string::npos);  // raw paths never become labels
  EXPECT_NE(text.find("tessera_http_connections_active 1\n"), std::string::npos);
}

TEST(ServerAccessLog, OneJsonLinePerRequestWithoutQueryOrSecrets) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send(get("/stores/7/check?user=bob&code=SECRETCODE",
             "Authorization: Bearer SECRETTOKEN\r\nCookie: sid=SECRETCOOKIE\r\n"
             "X-Request-Id: req-123\r\n"));
  std::string resp = c.read_response();
  EXPECT_EQ(header_of(resp, "X-Request-Id"), "req-123");
  // The line is written after the response; a second exchange orders it.
  c.send(get("/hello"));
  c.read_response();
  auto lines = s.log->lines();
  ASSERT_GE(lines.size(), 1u);
  const std::string& line = lines[0];
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find("SECRET"), std::string::npos) << line;
  EXPECT_EQ(line.find('?'), std::string::npos);
  auto j = json::parse_strict(line);
  ASSERT_TRUE(j.ok()) << line;
  EXPECT_EQ((*j)["method"], "GET");
  EXPECT_EQ((*j)["route"], "/stores/{id}/check");
  EXPECT_EQ((*j)["path"], "/stores/7/check");
  EXPECT_EQ((*j)["status"], 200);
  EXPECT_EQ((*j)["request_id"], "req-123");
  EXPECT_TRUE((*j)["bytes"].is_number());
  EXPECT_TRUE((*j)["duration_ms"].is_number());
  EXPECT_TRUE((*j)["time"].is_string());
  EXPECT_EQ((*j)["peer"].get<std::string>().rfind("127.0.0.1:", 0), 0u);
}

TEST(ServerAsyncHandlers, ResponderCompletesFromAnotherThread) {
  Router r;
  std::vector<std::thread> workers;
  std::mutex mu;
  r.add_async("GET", "/later/{n}", [&](const Request& req, Responder respond) {
    std::string n(*req.param("n"));
    std::lock_guard lock(mu);
    workers.emplace_back([n, respond = std::move(respond)]() mutable {
      respond(Response::json(200, {{"n", n}}));
    });
  });
  auto s = start_server(std::move(r));
  RawConnection c(s.port());
  c.send(get("/later/5"));
  std::string resp = c.read_response();
  EXPECT_EQ(status_of(resp), 200);
  EXPECT_EQ(body_of(resp), R"({"n":"5"})");
  std::lock_guard lock(mu);
  for (auto& t : workers) t.join();
}

TEST(ServerAsyncHandlers, DroppedResponderAnswers500) {
  Router r;
  r.add_async("GET", "/drop", [](const Request&, Responder) {});
  auto s = start_server(std::move(r));
  RawConnection c(s.port());
  c.send(get("/drop"));
  EXPECT_EQ(status_of(c.read_response()), 500);
}

TEST(ServerDrain, InFlightRequestFinishesAndDrainReturns) {
  Router r;
  std::promise<Responder> pending;
  r.add_async("GET", "/slow",
              [&](const Request&, Responder respond) { pending.set_value(std::move(respond)); });
  auto s = start_server(std::move(r));
  auto c = std::make_unique<RawConnection>(s.port());
  c->send(get("/slow"));
  Responder respond = pending.get_future().get();
  std::thread drainer([&] { s.server->drain(std::chrono::seconds(10)); });
  while (s.server->ready()) std::this_thread::yield();  // draining has begun
  respond(Response::json(200, {{"done", true}}));
  std::string resp = c->read_until_closed();
  c.reset();  // a client closes its side after "Connection: close"
  drainer.join();
  EXPECT_EQ(status_of(resp), 200);
  EXPECT_EQ(header_of(resp, "Connection"), "close");
  s.server->wait();  // returns: the server has stopped
}

TEST(ServerDrain, IdleKeepAliveConnectionsAreClosed) {
  auto s = start_server(demo_router());
  RawConnection c(s.port());
  c.send(get("/hello"));
  EXPECT_EQ(status_of(c.read_response()), 200);
  s.server->drain(std::chrono::seconds(10));
  EXPECT_EQ(c.read_until_closed(), "");
  RawConnection after(s.port());  // nobody is accepting any more
  EXPECT_FALSE(after.send(get("/hello")) && status_of(after.read_response()) == 200);
}

// A SIGTERM that arrives after ShutdownSignals exists, before anyone waits (right after the
// readiness announcement), is kept for the wait: the server drains instead of the process dying
// from the signal's default action (which would end this test binary too).
TEST(ShutdownSignals, ASignalBeforeTheWaitIsKeptAndDrains) {
  auto s = start_server(Router{});
  ASSERT_TRUE(s.server->ready());
  ShutdownSignals signals;
  ASSERT_EQ(std::raise(SIGTERM), 0);
  signals.wait_then_drain({s.server.get()}, std::chrono::milliseconds(1000));
  EXPECT_FALSE(s.server->ready());  // drained
}

}  // namespace
}  // namespace tessera::http
