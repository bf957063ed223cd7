// The SDK on Tessera's own HTTP server: which URL a request's DPoP proof is compared with.
#include "resource/http_server.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace tessera::resource {
namespace {

http::Request request_to(std::string_view host, std::string_view target = "/invoices/7") {
  http::Request r;
  r.set_method("GET");
  r.set_target(target);
  if (!host.empty()) r.mutable_headers().add("Host", host);
  return r;
}

GatewayTrust gateway() { return {.origins = {"https://gw.example.com"}}; }

TEST(CalledUrl, AtTheEdgeIsTheConnectionsSchemeTheHostAndTheTarget) {
  http::Request r = request_to("api.internal:8443");
  EXPECT_EQ(called_url(r, {}), "http://api.internal:8443/invoices/7");
  r.mutable_tls().secure = true;
  EXPECT_EQ(called_url(r, {}), "https://api.internal:8443/invoices/7");
  // Forwarded fields mean nothing to a server that trusts no gateway.
  r.mutable_headers().add("X-Forwarded-Proto", "https");
  r.mutable_headers().add("X-Forwarded-Host", "gw.example.com");
  r.mutable_headers().add("X-Forwarded-Uri", "/api/invoices/7");
  EXPECT_EQ(called_url(r, {}), "https://api.internal:8443/invoices/7");
}

TEST(CalledUrl, AHostThatWouldMoveOrCutThePathNamesNoUrl) {
  EXPECT_EQ(called_url(request_to("gw.example.com#"), {}), std::nullopt);
  EXPECT_EQ(called_url(request_to("gw.example.com/api"), {}), std::nullopt);
  EXPECT_EQ(called_url(request_to(""), {}), std::nullopt) << "no Host at all";
  http::Request twice = request_to("gw.example.com");
  twice.mutable_headers().add("Host", "other.example");
  EXPECT_EQ(called_url(twice, {}), std::nullopt);
}

TEST(CalledUrl, BehindAGatewayTheForwardedFieldsTogetherOnceEachAndOfItsOrigin) {
  http::Request r = request_to("api.internal:8443");
  EXPECT_EQ(called_url(r, gateway()), "http://api.internal:8443/invoices/7")
      << "called directly, without the gateway's fields";
  r.mutable_headers().add("X-Forwarded-Proto", "https");
  r.mutable_headers().add("X-Forwarded-Host", "gw.example.com");
  EXPECT_EQ(called_url(r, gateway()), std::nullopt) << "X-Forwarded-Uri missing";
  r.mutable_headers().add("x-forwarded-uri", "/api/invoices/7?x=1");
  EXPECT_EQ(called_url(r, gateway()), "https://gw.example.com/api/invoices/7?x=1");
  EXPECT_EQ(called_url(r, {.origins = {"https://other.example"}}), std::nullopt)
      << "an origin not trusted";
  r.mutable_headers().add("X-Forwarded-Host", "evil.example");
  EXPECT_EQ(called_url(r, gateway()), std::nullopt) << "X-Forwarded-Host twice";
}

// With the gateway's keys the forwarded fields count only under its RFC 9421 signature.
TEST(CalledUrl, WithTheGatewaysKeysTheForwardedFieldsNeedItsSignatureOverThem) {
  const HmacKey key{"gw-1", std::string(32, 'k')};
  GatewayTrust trust = gateway();
  trust.keys = {key};
  trust.now = [] { return int64_t{1'700'000'000}; };
  auto forwarded = [] {
    http::Request r = request_to("api.internal:8443");
    r.mutable_headers().add("X-Forwarded-Proto", "https");
    r.mutable_headers().add("X-Forwarded-Host", "gw.example.com");
    r.mutable_headers().add("X-Forwarded-Uri", "/api/invoices/7");
    return r;
  };
  auto signed_over = [&](http::Request r, const std::vector<std::string>& covered,
                         const HmacKey& with) {
    auto fields = sign_hmac_sha256(signed_message(r), covered, with, 1'700'000'000,
                                   kGatewaySignatureLabel, kGatewaySignatureTag);
    EXPECT_TRUE(fields);
    r.mutable_headers().add("Signature-Input", fields->signature_input);
    r.mutable_headers().add("Signature", fields->signature);
    return r;
  };
  const std::vector<std::string> all = {"@method",        "@authority",        "@path",
                                        "@query",         "x-forwarded-proto", "x-forwarded-host",
                                        "x-forwarded-uri"};
  EXPECT_EQ(called_url(signed_over(forwarded(), all, key), trust),
            "https://gw.example.com/api/invoices/7");
  EXPECT_EQ(called_url(forwarded(), trust), std::nullopt) << "unsigned";
  EXPECT_EQ(called_url(signed_over(forwarded(), all, {"gw-1", std::string(32, 'x')}), trust),
            std::nullopt)
      << "another secret";
  EXPECT_EQ(called_url(signed_over(forwarded(),
                                   {"@method", "@authority", "@path", "@query", "x-forwarded-proto",
                                    "x-forwarded-host"},
                                   key),
                       trust),
            std::nullopt)
      << "X-Forwarded-Uri not covered";
  http::Request moved = signed_over(forwarded(), all, key);
  moved.set_target("/invoices/8");
  EXPECT_EQ(called_url(moved, trust), std::nullopt) << "signed for another path";
  // Called directly, without the fields: the connection's own URL, signature or not.
  EXPECT_EQ(called_url(request_to("api.internal:8443"), trust),
            "http://api.internal:8443/invoices/7");
}

}  // namespace
}  // namespace tessera::resource
