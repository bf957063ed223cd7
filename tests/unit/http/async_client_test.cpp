// AsyncHttpClient on a real http::Server io thread: a front server whose async handlers send to
// an upstream server through the client and answer with what came back, driven by the blocking
// HttpClient.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/client.h"
#include "http/server.h"
#include "support/free_port.h"
#include "test_support.h"

namespace tessera::http {
namespace {

using namespace std::chrono_literals;
using testing::RunningServer;
using testing::start_server;

constexpr size_t kBigBodyBytes = 64 * 1024;
constexpr auto kSlowUpstreamDelay = 1'000ms;

Router upstream_router() {
  Router r;
  r.get("/hello", [](const Request&) {
    Response res = Response::text(200, "hello from upstream");
    res.headers.set("X-Upstream", "yes");
    return res;
  });
  r.post("/echo", [](const Request& req) { return Response::text(200, req.body()); });
  r.get("/slow", [](const Request&) {
    std::this_thread::sleep_for(kSlowUpstreamDelay);
    return Response::text(200, "finally");
  });
  r.get("/big",
        [](const Request&) { return Response::text(200, std::string(kBigBodyBytes, 'x')); });
  return r;
}

// The front server's answer: the upstream's status, body and X-Upstream header, whether the
// upstream connection was a pooled one, or 502 naming the error code.
Response answer(const Result<ClientResponse, ClientError>& result) {
  if (!result.ok()) {
    Response res = Response::text(502, to_string(result.error().code));
    res.headers.set("X-Error-Message", result.error().message);
    return res;
  }
  Response res = Response::text(result->status, result->body);
  if (auto upstream = result->headers.get("X-Upstream")) res.headers.set("X-Upstream", *upstream);
  res.headers.set("X-Reused", result->reused_connection ? "true" : "false");
  return res;
}

std::string header(const ClientResponse& r, std::string_view name) {
  return std::string(r.headers.get(name).value_or(""));
}

// A loopback port nothing listens on: bound, then released.
uint16_t unused_port() { return static_cast<uint16_t>(tessera::testing::free_loopback_port()); }

class AsyncHttpClientTest : public ::testing::Test {
 protected:
  void TearDown() override {
    std::lock_guard lock(senders_mu_);
    for (auto& t : senders_) t.join();
  }

  void start_upstream(ServerOptions options = {}) {
    upstream_ = start_server(upstream_router(), options);
    upstream_base_ = "http://127.0.0.1:" + std::to_string(upstream_.port());
  }

  // The front server: any path not routed below is sent, with its method and body, to the same
  // path on `upstream_base_` from the io thread that received it.
  void start_front(ClientOptions client_options = {}, unsigned io_threads = 1) {
    client_ = std::make_unique<AsyncHttpClient>(client_options);
    Router r;
    r.set_fallback([this](const Request& req, Responder respond) {
      const EventLoop loop = EventLoop::current();
      if (!loop) return respond(Response::text(500, "handler not on an event loop"));
      ClientRequest upstream;
      upstream.method = std::string(req.method());
      upstream.url = upstream_base_ + std::string(req.target());
      upstream.body = req.body();
      auto responder = std::make_shared<Responder>(std::move(respond));
      client_->send(loop, std::move(upstream),
                    [responder](Result<ClientResponse, ClientError> result) {
                      (*responder)(answer(result));
                    });
    });
    // GET /hello upstream, sent from a thread that is not an io thread; X-Callback-Thread says
    // where the callback ran.
    r.add_async("GET", "/via-thread", [this](const Request&, Responder respond) {
      const EventLoop loop = EventLoop::current();
      const std::thread::id io_thread = std::this_thread::get_id();
      auto responder = std::make_shared<Responder>(std::move(respond));
      std::lock_guard lock(senders_mu_);
      senders_.emplace_back([this, loop, io_thread, responder] {
        const std::thread::id sender = std::this_thread::get_id();
        ClientRequest upstream;
        upstream.url = upstream_base_ + "/hello";
        client_->send(loop, std::move(upstream),
                      [io_thread, sender, responder](Result<ClientResponse, ClientError> result) {
                        const std::thread::id here = std::this_thread::get_id();
                        Response res = answer(result);
                        res.headers.set("X-Callback-Thread", here == io_thread ? "io"
                                                             : here == sender  ? "sender"
                                                                               : "other");
                        (*responder)(std::move(res));
                      });
      });
    });
    // Requests AsyncHttpClient refuses: GET /hello over https://, and with a field value HTTP/1.1
    // cannot carry (a line break). X-Synchronous says whether the callback ran inside send().
    // `upstream` makes the request when the handler runs (the upstream's port is known then).
    auto refused_by_send = [this](std::function<ClientRequest()> upstream) {
      return [this, upstream](const Request&, Responder respond) {
        auto in_send = std::make_shared<std::atomic<bool>>(true);
        auto responder = std::make_shared<Responder>(std::move(respond));
        client_->send(EventLoop::current(), upstream(),
                      [in_send, responder](Result<ClientResponse, ClientError> result) {
                        Response res = answer(result);
                        res.headers.set("X-Synchronous", in_send->load() ? "true" : "false");
                        (*responder)(std::move(res));
                      });
        in_send->store(false);
      };
    };
    r.add_async("GET", "/via-https", refused_by_send([this] {
                  ClientRequest https;
                  https.url = "https://127.0.0.1:" + std::to_string(upstream_.port()) + "/hello";
                  return https;
                }));
    r.add_async("GET", "/via-line-break", refused_by_send([this] {
                  ClientRequest line_break;
                  line_break.url = upstream_base_ + "/hello";
                  line_break.headers.add("X-Claim", "a\r\nX-Injected: 1");
                  return line_break;
                }));
    // HEAD /hello upstream: the answer carries Content-Length but no content (RFC 9110 §9.3.2).
    r.add_async("GET", "/via-head", [this](const Request&, Responder respond) {
      auto responder = std::make_shared<Responder>(std::move(respond));
      ClientRequest upstream;
      upstream.method = "HEAD";
      upstream.url = upstream_base_ + "/hello";
      client_->send(EventLoop::current(), std::move(upstream),
                    [responder](Result<ClientResponse, ClientError> result) {
                      (*responder)(answer(result));
                    });
    });
    ServerOptions options;
    options.io_threads = io_threads;
    front_ = start_server(std::move(r), options);
  }

  Result<ClientResponse, ClientError> get(std::string_view path) {
    return front_client_.get(front_.url(path));
  }
  Result<ClientResponse, ClientError> post(std::string_view path, std::string body) {
    ClientRequest req;
    req.method = "POST";
    req.url = front_.url(path);
    req.body = std::move(body);
    return front_client_.request(req);
  }

  // `path` of the front: answered 502 with `code`, inside send(), and nothing sent upstream.
  void expect_refused_inside_send(std::string_view path, std::string_view code) {
    auto r = get(path);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 502);
    EXPECT_EQ(r->body, code) << header(*r, "X-Error-Message");
    EXPECT_EQ(header(*r, "X-Synchronous"), "true");
    EXPECT_EQ(client_->connections_opened(), 0u);
  }

  // Until the upstream has closed every connection (its idle timeout).
  void wait_until_upstream_has_no_connections() {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (upstream_.server->metrics_text().find("tessera_http_connections_active 0\n") ==
           std::string::npos) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "upstream kept its connections";
      std::this_thread::sleep_for(10ms);
    }
  }

  // Declaration order is teardown order reversed: the front stops before the client and the
  // upstream go away.
  RunningServer upstream_;
  std::string upstream_base_;
  std::unique_ptr<AsyncHttpClient> client_;
  RunningServer front_;
  HttpClient front_client_;
  std::mutex senders_mu_;
  std::vector<std::thread> senders_;
};

TEST_F(AsyncHttpClientTest, GetReturnsTheUpstreamStatusBodyAndHeaders) {
  start_upstream();
  start_front();
  auto r = get("/hello");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, "hello from upstream");
  EXPECT_EQ(header(*r, "X-Upstream"), "yes");
  EXPECT_EQ(header(*r, "X-Reused"), "false");
  EXPECT_EQ(client_->connections_opened(), 1u);
}

TEST_F(AsyncHttpClientTest, PostSendsTheBody) {
  start_upstream();
  start_front();
  const std::string body = R"({"a":1,"b":"two"})";
  auto r = post("/echo", body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, body);
}

TEST_F(AsyncHttpClientTest, SequentialRequestsOnOneLoopShareOneConnection) {
  start_upstream();
  start_front({}, /*io_threads=*/1);
  for (int i = 0; i < 5; ++i) {
    auto r = get("/hello");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(header(*r, "X-Reused"), i > 0 ? "true" : "false") << "request " << i;
  }
  EXPECT_EQ(client_->connections_opened(), 1u);
}

TEST_F(AsyncHttpClientTest, IdempotentRequestIsRetriedWhenThePooledConnectionWasClosed) {
  ServerOptions upstream_options;
  upstream_options.idle_timeout = 200ms;
  start_upstream(upstream_options);
  start_front();
  auto first = get("/hello");
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->status, 200) << first->body;
  std::this_thread::sleep_for(600ms);
  wait_until_upstream_has_no_connections();

  auto second = get("/hello");
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->status, 200) << second->body;
  EXPECT_EQ(second->body, "hello from upstream");
  EXPECT_EQ(header(*second, "X-Reused"), "false");  // answered on the fresh connection
  EXPECT_EQ(client_->connections_opened(), 2u);
}

TEST_F(AsyncHttpClientTest, PostIsNotRetriedWhenThePooledConnectionWasClosed) {
  ServerOptions upstream_options;
  upstream_options.idle_timeout = 200ms;
  start_upstream(upstream_options);
  start_front();
  auto first = post("/echo", "one");
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->status, 200) << first->body;
  std::this_thread::sleep_for(600ms);
  wait_until_upstream_has_no_connections();

  // RFC 9112 §9.3.1: a non-idempotent request is not sent again automatically.
  auto second = post("/echo", "two");
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->status, 502);
  EXPECT_EQ(second->body, "connection_closed") << header(*second, "X-Error-Message");
  EXPECT_EQ(client_->connections_opened(), 1u);
}

TEST_F(AsyncHttpClientTest, SlowUpstreamTimesOut) {
  start_upstream();
  ClientOptions options;
  options.read_timeout = 200ms;
  start_front(options);
  auto r = get("/slow");  // the upstream answers after kSlowUpstreamDelay
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(r->body, "timeout") << header(*r, "X-Error-Message");
}

TEST_F(AsyncHttpClientTest, RefusedConnectionIsConnectFailed) {
  const uint16_t port = unused_port();
  ASSERT_NE(port, 0);
  upstream_base_ = "http://127.0.0.1:" + std::to_string(port);
  start_front();
  auto r = get("/hello");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(r->body, "connect_failed") << header(*r, "X-Error-Message");
  EXPECT_EQ(client_->connections_opened(), 0u);
}

TEST_F(AsyncHttpClientTest, BodyOverTheLimitIsResponseTooLarge) {
  start_upstream();
  ClientOptions options;
  options.max_response_body_bytes = 1024;
  start_front(options);
  auto r = get("/big");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 502);
  // Not EXPECT_EQ: a failure would print the whole body.
  EXPECT_TRUE(r->body == "response_too_large")
      << r->body.size() << " bytes: " << r->body.substr(0, 40) << "...";
  // Under the limit the same client still works.
  auto small = get("/hello");
  ASSERT_TRUE(small.ok()) << small.error().message;
  EXPECT_EQ(small->status, 200) << small->body;
}

TEST_F(AsyncHttpClientTest, HttpsUrlIsInvalidAndAnsweredInsideSend) {
  EXPECT_TRUE(AsyncHttpClient::supports("http://127.0.0.1:8080/x"));
  EXPECT_FALSE(AsyncHttpClient::supports("https://127.0.0.1:8443/x"));
  EXPECT_FALSE(AsyncHttpClient::supports("/relative"));
  start_upstream();
  start_front();
  expect_refused_inside_send("/via-https", "invalid_url");
}

TEST_F(AsyncHttpClientTest, ALineBreakInAFieldIsRefusedInsideSendAndNothingIsSent) {
  start_upstream();
  start_front();
  expect_refused_inside_send("/via-line-break", "invalid_request");
}

TEST_F(AsyncHttpClientTest, EmptyLoopIsInvalidAndAnsweredInsideSend) {
  start_upstream();
  AsyncHttpClient client;
  const EventLoop loop = EventLoop::current();  // the test thread is no io thread
  ASSERT_FALSE(loop);
  int calls = 0;
  std::optional<ClientErrorCode> code;
  ClientRequest req;
  req.url = upstream_base_ + "/hello";
  client.send(loop, req, [&](Result<ClientResponse, ClientError> result) {
    ++calls;
    if (!result.ok()) code = result.error().code;
  });
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, ClientErrorCode::kInvalidUrl);
  EXPECT_EQ(client.connections_opened(), 0u);
}

TEST_F(AsyncHttpClientTest, SendFromAnotherThreadRunsTheCallbackOnTheLoop) {
  start_upstream();
  start_front();
  for (int i = 0; i < 3; ++i) {
    auto r = get("/via-thread");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->body, "hello from upstream");
    EXPECT_EQ(header(*r, "X-Callback-Thread"), "io");
    EXPECT_EQ(header(*r, "X-Reused"), i > 0 ? "true" : "false") << "request " << i;
  }
  EXPECT_EQ(client_->connections_opened(), 1u);
}

TEST_F(AsyncHttpClientTest, ConcurrentRequestsFromManyClientsAllSucceed) {
  start_upstream();
  start_front({}, /*io_threads=*/2);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5;
  std::atomic<int> ok{0};
  std::mutex failures_mu;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient client;
      for (int i = 0; i < kPerThread; ++i) {
        const std::string body = "thread " + std::to_string(t) + " request " + std::to_string(i);
        ClientRequest req;
        req.method = "POST";
        req.url = front_.url("/echo");
        req.body = body;
        auto r = client.request(req);
        if (r.ok() && r->status == 200 && r->body == body) {
          ++ok;
          continue;
        }
        std::lock_guard lock(failures_mu);
        failures.push_back(body + ": " +
                           (r.ok() ? std::to_string(r->status) + " " + r->body
                                   : std::string(to_string(r.error().code))));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  for (const auto& f : failures) ADD_FAILURE() << f;
  // Each blocking client keeps one connection to one front loop, so a loop never has more
  // requests in flight than the clients pinned to it.
  EXPECT_LE(client_->connections_opened(), static_cast<uint64_t>(kThreads));
}

// RFC 9110 §15.2: 1xx answers before the final one are skipped.
TEST_F(AsyncHttpClientTest, InterimAnswersAreSkippedForTheFinalOne) {
  testing::ScriptedServer upstream{
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Upstream: yes\r\n\r\nok"};
  upstream_base_ = "http://127.0.0.1:" + std::to_string(upstream.port());
  start_front();
  for (int i = 0; i < 2; ++i) {  // and the connection stays in step
    auto r = post("/anything", "body");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 201) << r->body << " " << header(*r, "X-Error-Message");
    EXPECT_EQ(r->body, "ok");
  }
  EXPECT_EQ(client_->connections_opened(), 1U);
}

// RFC 9112 §6.3 item 8: content up to the close; the connection is not pooled (§9.6). Bytes past
// an answer (never asked for: no pipelining) let its connection go too.
TEST_F(AsyncHttpClientTest, AnAnswerEndedByTheCloseOrFollowedByMoreIsNotPooled) {
  testing::ScriptedServer upstream{
      {{"HTTP/1.1 200 OK\r\nX-Upstream: yes\r\n\r\nup to the close", /*close=*/true},
       {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale"},
       {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh"}}};
  upstream_base_ = "http://127.0.0.1:" + std::to_string(upstream.port());
  start_front();
  const char* bodies[] = {"up to the close", "ok", "fresh"};
  for (const char* body : bodies) {
    auto r = get("/anything");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200) << r->body << " " << header(*r, "X-Error-Message");
    EXPECT_EQ(r->body, body);
    EXPECT_EQ(header(*r, "X-Reused"), "false");
  }
  EXPECT_EQ(client_->connections_opened(), 3U);
}

// Bytes that came unasked while the connection was idle (a 408 before a close) drop it.
TEST_F(AsyncHttpClientTest, AnIdleConnectionWithUnaskedBytesIsNotUsed) {
  testing::ScriptedServer upstream{{{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false,
                                     "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"},
                                    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh"}}};
  upstream_base_ = "http://127.0.0.1:" + std::to_string(upstream.port());
  start_front();
  auto first = get("/anything");
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->body, "ok");
  std::this_thread::sleep_for(300ms);  // the 408 comes meanwhile
  auto second = get("/anything");
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->status, 200) << second->body << " " << header(*second, "X-Error-Message");
  EXPECT_EQ(second->body, "fresh");
  EXPECT_EQ(header(*second, "X-Reused"), "false");
}

TEST_F(AsyncHttpClientTest, HeadResponseWithContentLengthCompletes) {
  start_upstream();
  ClientOptions options;
  options.read_timeout = 2'000ms;
  start_front(options);
  auto r = get("/via-head");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200) << r->body << " " << header(*r, "X-Error-Message");
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(header(*r, "X-Upstream"), "yes");
}

}  // namespace
}  // namespace tessera::http
