#include "oauth/par_endpoint.h"

#include "core/crypto.h"
#include "oauth/authorize_request.h"
#include "oauth/discovery.h"
#include "oauth/request_object.h"
#include "oauth/token_endpoint.h"
#include "oauth/tokens.h"

namespace tessera::oauth {
namespace {

// Client authentication travels with the push, not with the stored request.
bool is_client_authentication(std::string_view name) {
  return name == "client_secret" || name == "client_assertion" || name == "client_assertion_type";
}

}  // namespace

ParEndpoint::ParEndpoint(ParOptions options, const ClientAuthenticator& clients,
                         store::GrantStore& grants, store::ReplayCache& replay,
                         const DpopProofs& dpop, const Clock& clock)
    : options_(std::move(options)),
      urls_(endpoint_urls(options_.issuer, options_.mtls_endpoint_base, "/par")),
      clients_(clients),
      grants_(grants),
      replay_(replay),
      dpop_(dpop),
      clock_(clock) {}

http::Response ParEndpoint::handle(const http::Request& request) const {
  auto pushed = push(request);
  if (!pushed) return pushed.error().to_response();
  // RFC 9126 §2.2: 201 Created with request_uri and expires_in.
  http::Response r =
      http::Response::json(201, {{"request_uri", pushed->first}, {"expires_in", pushed->second}});
  r.headers.set("Cache-Control", "no-store");
  return r;
}

Result<std::pair<std::string, int64_t>, OAuthError> ParEndpoint::push(
    const http::Request& request) const {
  auto form = read_form(request);
  if (!form) return Err(form.error());
  // RFC 9126 §2.1: "The request_uri authorization request parameter MUST NOT be provided".
  if (form->get("request_uri")) {
    return Err(OAuthError::invalid_request("request_uri must not be pushed"));
  }
  // §2.1: the client authenticates as at the token endpoint.
  auto authenticated = clients_.authenticate(request, *form);
  if (!authenticated) return Err(authenticated.error());
  const store::Client& client = *authenticated->client;
  // RFC 6749 §3.1: an empty client_id is an omitted one.
  if (auto id = form->get("client_id"); id && !id->empty() && *id != client.client_id) {
    return Err(OAuthError::invalid_request("client_id is not the authenticated client"));
  }
  const bool fapi2 = fapi2_applies(options_.profile, client);
  http::Params params;
  if (auto object = form->get("request"); object && !object->empty()) {
    // RFC 9126 §3, RFC 9101 §6.3: a request object is the whole request; the other parameters
    // of the push are ignored.
    RequestObjectOptions object_options{options_.issuer};
    object_options.fapi2 = fapi2;
    auto opened = open_request_object(*object, client, clients_, replay_, clock_, object_options);
    if (!opened) return Err(opened.error());
    params = std::move(*opened);
  } else if (signed_request_object_required(options_.profile, client)) {
    // RFC 9101 §10.5 require_signed_request_object.
    return Err(OAuthError::invalid_request(
        "this client must send its authorization request as a signed request object"));
  } else {
    for (const auto& [name, value] : *form) {
      // RFC 6749 §3.1: a parameter without a value is an omitted one.
      if (value.empty() || is_client_authentication(name)) continue;
      params.add(name, value);
    }
    if (!params.get("client_id")) params.add("client_id", client.client_id);
  }

  // RFC 9449 §10.1: a DPoP proof here binds the code to its key, as dpop_jkt does; both given,
  // they must agree.
  auto jkt = dpop_.proof_key(request, urls_);
  if (!jkt) return Err(jkt.error());
  if (*jkt && fapi2) {
    if (auto problem = fapi2_proof_problem(request)) return Err(*problem);
  }
  if (*jkt) {
    auto given = params.get("dpop_jkt");
    if (given && !crypto::equal_ct(*given, **jkt)) {
      return Err(OAuthError::invalid_dpop_proof("dpop_jkt is not the DPoP proof's key"));
    }
    if (!given) params.add("dpop_jkt", **jkt);
  }

  // §2.1: the request is checked as /authorize would check it; errors go back here as JSON
  // (§2.3), never to a redirect URI.
  const int64_t now = clock_.now();
  auto parsed =
      parse_authorization_request(params, &client, now, options_.authorization_details_types);
  if (!parsed) return Err(OAuthError{400, parsed.error().error, parsed.error().description});
  if (parsed->error) return Err(OAuthError{400, parsed->error->error, parsed->error->description});

  json::Json pairs = json::Json::array();
  for (const auto& [name, value] : params) pairs.push_back({name, value});
  const std::string request_uri = std::string(kRequestUriPrefix) + crypto::random_token(32);
  store::PushedRequest record;
  record.request_uri_sha256 = token_hash(request_uri);
  record.client_id = client.client_id;
  record.params_json = pairs.dump();
  record.expires_at = now + options_.lifetime;
  if (!grants_.push_request(record)) {
    return Err(OAuthError{503, "temporarily_unavailable", "the store is unavailable"});
  }
  return std::pair{request_uri, options_.lifetime};
}

Result<std::optional<http::Params>, std::string> take_pushed_request(store::GrantStore& grants,
                                                                     std::string_view request_uri,
                                                                     std::string_view client_id) {
  if (request_uri.substr(0, kRequestUriPrefix.size()) != kRequestUriPrefix ||
      request_uri.size() > 256) {
    return std::optional<http::Params>();
  }
  auto taken = grants.take_pushed_request(token_hash(request_uri), client_id);
  if (!taken) return Err(taken.error().message);
  if (!*taken) return std::optional<http::Params>();
  auto pairs = json::parse_strict((*taken)->params_json);
  if (!pairs || !pairs->is_array()) return Err(std::string("a pushed request is unreadable"));
  http::Params params;
  for (const auto& pair : *pairs) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
      return Err(std::string("a pushed request is unreadable"));
    }
    params.add(pair[0].get<std::string>(), pair[1].get<std::string>());
  }
  return std::optional<http::Params>(std::move(params));
}

}  // namespace tessera::oauth
