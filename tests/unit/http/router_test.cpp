#include "http/router.h"

#include <gtest/gtest.h>

namespace tessera::http {
namespace {

Response ok(const Request&) { return Response(200); }

TEST(Routing, CapturesDecodedPathParameters) {
  Router router;
  router.get("/stores/{id}/check", ok);
  Request req;
  auto m = router.match("GET", "/stores/a%20b/check", req);
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(m.route->pattern, "/stores/{id}/check");
  EXPECT_EQ(*req.param("id"), "a b");
}

TEST(Routing, EncodedSlashStaysInsideOneSegment) {
  Router router;
  router.get("/objects/{key}", ok);
  Request req;
  auto m = router.match("GET", "/objects/a%2Fb", req);
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(*req.param("key"), "a/b");
  EXPECT_EQ(router.match("GET", "/objects/a/b", req).kind, Router::Match::Kind::kNotFound);
}

TEST(Routing, FallbackAnswersWhatNoRouteMatchesAndNothingElse) {
  Router router;
  router.get("/healthz", ok);
  router.get("/stores/{id}", ok);
  Request req;
  EXPECT_EQ(router.match("GET", "/invoices/7", req).kind, Router::Match::Kind::kNotFound);
  router.set_fallback([](const Request&, Responder) {});
  auto unknown = router.match("POST", "/invoices/7", req);
  ASSERT_EQ(unknown.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(unknown.pattern, Router::kFallbackPattern);
  EXPECT_TRUE(unknown.route->async_handler);
  EXPECT_EQ(router.match("GET", "/healthz", req).route->pattern, "/healthz");
  EXPECT_EQ(router.match("GET", "/stores/s1", req).route->pattern, "/stores/{id}");
  // A path a route owns keeps its 405 for other methods.
  EXPECT_EQ(router.match("DELETE", "/healthz", req).kind, Router::Match::Kind::kMethodNotAllowed);
  EXPECT_EQ(router.routes().size(), 3U);
}

TEST(Routing, LiteralRouteWinsOverCapture) {
  Router router;
  router.get("/stores/{id}", [](const Request&) { return Response(201); });
  router.get("/stores/new", [](const Request&) { return Response(202); });
  Request req;
  auto m = router.match("GET", "/stores/new", req);
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(m.route->handler(req).status, 202);
}

TEST(Routing, FewerCapturesWin) {
  Router router;
  router.get("/a/{x}/{y}", [](const Request&) { return Response(201); });
  router.get("/a/b/{y}", [](const Request&) { return Response(202); });
  Request req;
  auto m = router.match("GET", "/a/b/c", req);
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(m.route->handler(req).status, 202);
  EXPECT_EQ(*req.param("y"), "c");
  EXPECT_FALSE(req.param("x").has_value());
}

TEST(Routing, WrongMethodIsMethodNotAllowedWithAllow) {
  Router router;
  router.get("/token", ok);
  router.post("/token", ok);
  Request req;
  auto m = router.match("DELETE", "/token", req);
  EXPECT_EQ(m.kind, Router::Match::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, POST, HEAD");
}

TEST(Routing, HeadIsServedByGet) {
  Router router;
  router.get("/x", ok);
  Request req;
  EXPECT_EQ(router.match("HEAD", "/x", req).kind, Router::Match::Kind::kFound);
}

TEST(Routing, UnknownPathAndEmptySegmentsAreNotFound) {
  Router router;
  router.get("/stores/{id}/check", ok);
  Request req;
  EXPECT_EQ(router.match("GET", "/stores//check", req).kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(router.match("GET", "/stores/1/check/", req).kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(router.match("GET", "/nope", req).kind, Router::Match::Kind::kNotFound);
}

TEST(Routing, MalformedOrDuplicatePatternsThrowAtRegistration) {
  Router router;
  EXPECT_THROW(router.get("no-slash", ok), std::invalid_argument);
  EXPECT_THROW(router.get("/a{b}", ok), std::invalid_argument);
  router.get("/a", ok);
  EXPECT_THROW(router.get("/a", ok), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::http
