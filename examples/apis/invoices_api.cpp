#include "examples/apis/invoices_api.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/result.h"
#include "core/worker_pool.h"
#include "http/client.h"
#include "resource/http_server.h"

namespace tessera::examples {
namespace {

using json::Json;

Json to_json(const Invoice& i) {
  return {{"id", i.id},
          {"tenant", i.tenant},
          {"owner", i.owner},
          {"amount_cents", i.amount_cents},
          {"currency", i.currency},
          {"description", i.description}};
}

http::Response no_store(int status, const Json& body) {
  http::Response r = http::Response::json(status, body);
  r.headers.set("Cache-Control", "no-store");
  return r;
}

http::Response unavailable(std::string_view what) {
  http::Response r = http::Response::error(503, "temporarily_unavailable", what);
  r.headers.set("Retry-After", "1");
  return r;
}

http::Response denied(std::string_view why) {
  return http::Response::error(403, "access_denied", why);
}

// The caller's entry in the API's directory, which the ClaimsProvider put in domain_claims.
std::optional<DirectoryEntry> domain_user(const resource::Principal& p) {
  const Json& d = p.domain_claims;
  if (!d.contains("user") || !d["user"].is_string()) return std::nullopt;
  return DirectoryEntry{d["user"].get<std::string>(), d.value("tenant", std::string()),
                        d.value("accountant", false)};
}

}  // namespace

class InvoicesApi::Impl {
 public:
  explicit Impl(InvoicesApiOptions o)
      : options_(std::move(o)),
        authenticator_(std::make_shared<resource::Validator>(options_.validator),
                       std::make_shared<resource::ClaimsCache>(),
                       [this](const resource::Principal& p) { return domain_claims(p); }),
        dpop_(options_.dpop),
        client_(client_options()),
        pool_(options_.threads, 1024) {
    if (!options_.fga_url.empty() && (options_.fga_store.empty() || options_.fga_token.empty())) {
      throw std::invalid_argument("the invoices API needs the fga store and token with its url");
    }
    for (auto& i : options_.invoices) invoices_.emplace(i.id, i);
  }

  void add_routes(http::Router& router) {
    auto on = [&](std::string_view method, std::string_view pattern, auto handler) {
      router.add_async(method, pattern,
                       http::on_pool(pool_, [this, handler](const http::Request& r) {
                         return (this->*handler)(r);
                       }));
    };
    on("GET", "/invoices", &Impl::list);
    on("POST", "/invoices", &Impl::create);
    on("GET", "/invoices/{id}", &Impl::show);
    on("GET", "/chain/invoices/{id}", &Impl::chain);
  }

 private:
  static http::ClientOptions client_options() {
    http::ClientOptions c;
    c.connect_timeout = std::chrono::milliseconds(2'000);
    c.read_timeout = std::chrono::milliseconds(5'000);
    return c;
  }

  // The seeds' domain claims: looked up once per token, cached with its principal until exp.
  Json domain_claims(const resource::Principal& p) const {
    auto found = options_.directory.find(p.subject);
    if (found == options_.directory.end()) return Json::object();  // a client, not a user
    return {{"user", found->second.user},
            {"tenant", found->second.tenant},
            {"accountant", found->second.accountant}};
  }

  // --- The fga role, through OpenFGA's HTTP API --------------------------------------------

  Result<Json> fga(std::string_view path, Json body) const {
    if (!options_.fga_model.empty()) body["authorization_model_id"] = options_.fga_model;
    http::ClientRequest r;
    r.method = "POST";
    r.url = options_.fga_url + "/stores/" + options_.fga_store + std::string(path);
    r.headers.set("Authorization", "Bearer " + options_.fga_token);
    r.headers.set("Content-Type", "application/json");
    r.body = body.dump();
    auto answer = client_.request(r);
    if (!answer) return Err("the fga role cannot be reached: " + answer.error().message);
    if (answer->status != 200) {
      return Err("the fga role answered " + std::to_string(answer->status));
    }
    auto parsed = json::parse_strict(answer->body, {});
    if (!parsed) return Err(std::string("the fga role answered something other than JSON"));
    return std::move(*parsed);
  }

  // Whether `user` may `relation` the invoice: the fga role, or the local rule (owner, or an
  // accountant of the invoice's tenant) when there is none.
  Result<bool> may(const DirectoryEntry& user, std::string_view relation,
                   const std::string& invoice_id) const {
    if (options_.fga_url.empty()) {
      std::lock_guard lock(mutex_);
      auto found = invoices_.find(invoice_id);
      if (found == invoices_.end()) return false;
      const Invoice& i = found->second;
      return i.owner == user.user ||
             (relation == "viewer" && user.accountant && i.tenant == user.tenant);
    }
    auto answer = fga("/check", {{"tuple_key",
                                  {{"user", "user:" + user.user},
                                   {"relation", relation},
                                   {"object", "invoice:" + invoice_id}}}});
    if (!answer) return Err(answer.error());
    if (!answer->contains("allowed") || !(*answer)["allowed"].is_boolean()) {
      return Err(std::string("the fga role's check answer has no allowed"));
    }
    return (*answer)["allowed"].get<bool>();
  }

  // The ids of every invoice `user` may view.
  Result<std::vector<std::string>> viewable(const DirectoryEntry& user) const {
    std::vector<std::string> ids;
    if (options_.fga_url.empty()) {
      std::vector<std::string> all;
      {
        std::lock_guard lock(mutex_);
        for (const auto& [id, invoice] : invoices_) all.push_back(id);
      }
      for (const auto& id : all) {
        if (auto ok = may(user, "viewer", id); ok && *ok) ids.push_back(id);
      }
      return ids;
    }
    std::string continuation;
    do {  // Tessera pages ListObjects instead of truncating it
      auto page = fga("/list-objects", {{"type", "invoice"},
                                        {"relation", "viewer"},
                                        {"user", "user:" + user.user},
                                        {"continuation_token", continuation}});
      if (!page) return Err(page.error());
      for (const auto& object : page->value("objects", Json::array())) {
        if (!object.is_string()) continue;
        const std::string text = object.get<std::string>();
        if (text.rfind("invoice:", 0) == 0) ids.push_back(text.substr(8));
      }
      continuation = page->value("continuation_token", std::string());
    } while (!continuation.empty());
    return ids;
  }

  // --- Handlers --------------------------------------------------------------------------

  // The token and its binding (a DPoP proof, a client certificate), then `scope`.
  resource::RequestAuthentication authenticate(const http::Request& request,
                                               const std::vector<std::string>& scope) const {
    return resource::authenticate_request(authenticator_, options_.realm, request, scope,
                                          resource::ScopeMatch::kAll, &dpop_, {}, options_.gateway);
  }

  http::Response list(const http::Request& request) const {
    auto caller = authenticate(request, {"invoices:read"});
    if (caller.refusal) return std::move(*caller.refusal);
    Json out = Json::array();
    if (auto user = domain_user(*caller.principal)) {
      auto ids = viewable(*user);
      if (!ids) return unavailable(ids.error());
      std::sort(ids->begin(), ids->end());
      std::lock_guard lock(mutex_);
      for (const auto& id : *ids) {
        if (auto found = invoices_.find(id); found != invoices_.end()) {
          out.push_back(to_json(found->second));
        }
      }
    }
    return no_store(200, {{"invoices", out}});
  }

  // The invoice when the caller may view it. 403 whether it is missing or forbidden, so ids
  // cannot be probed; 404 only for an invoice the fga role knows but this API does not.
  Result<Invoice, http::Response> viewable_invoice(const resource::Principal& p,
                                                   const std::string& id) const {
    auto user = domain_user(p);
    if (!user) return Err(denied("this API serves users; the token names none it knows"));
    auto allowed = may(*user, "viewer", id);
    if (!allowed) return Err(unavailable(allowed.error()));
    if (!*allowed) return Err(denied("you may not view this invoice"));
    std::lock_guard lock(mutex_);
    auto found = invoices_.find(id);
    if (found == invoices_.end()) {
      return Err(http::Response::error(404, "not_found", "no such invoice"));
    }
    return found->second;
  }

  http::Response show(const http::Request& request) const {
    auto caller = authenticate(request, {"invoices:read"});
    if (caller.refusal) return std::move(*caller.refusal);
    auto invoice =
        viewable_invoice(*caller.principal, std::string(request.param("id").value_or("")));
    if (!invoice) return invoice.error();
    return no_store(200, to_json(*invoice));
  }

  http::Response create(const http::Request& request) {
    auto caller = authenticate(request, {"invoices:write"});
    if (caller.refusal) return std::move(*caller.refusal);
    auto user = domain_user(*caller.principal);
    if (!user) return denied("this API serves users; the token names none it knows");
    auto body = request.json();
    if (!body || !body->is_object()) {
      return http::Response::error(400, "invalid_request", "the body must be a JSON object");
    }
    const Json& b = *body;
    const Json* amount = b.contains("amount_cents") ? &b["amount_cents"] : nullptr;
    if (!amount || !amount->is_number_integer() || amount->get<int64_t>() <= 0 ||
        amount->get<int64_t>() > 100'000'000'000) {
      return http::Response::error(400, "invalid_request",
                                   "amount_cents must be an integer from 1 to 100000000000");
    }
    const std::string currency = b.value("currency", std::string("EUR"));
    if (currency.size() != 3 || !std::all_of(currency.begin(), currency.end(),
                                             [](char c) { return c >= 'A' && c <= 'Z'; })) {
      return http::Response::error(400, "invalid_request",
                                   "currency must be three capital letters (ISO 4217)");
    }
    if (b.contains("description") && !b["description"].is_string()) {
      return http::Response::error(400, "invalid_request", "description must be a string");
    }
    const std::string description = b.value("description", std::string());
    if (description.size() > options_.max_description) {
      return http::Response::error(400, "invalid_request", "description is too long");
    }
    Invoice invoice{"inv-" + crypto::to_hex(crypto::random_bytes(6)),
                    user->tenant,
                    user->user,
                    amount->get<int64_t>(),
                    currency,
                    description};
    {
      std::lock_guard lock(mutex_);
      if (invoices_.size() >= options_.max_invoices) {
        return http::Response::error(507, "insufficient_storage",
                                     "the demo holds no more invoices");
      }
    }
    // The relationships first: an invoice nobody may see is worse than none.
    if (!options_.fga_url.empty()) {
      Json writes = Json::array();
      writes.push_back({{"user", "user:" + invoice.owner},
                        {"relation", "owner"},
                        {"object", "invoice:" + invoice.id}});
      if (!invoice.tenant.empty()) {
        writes.push_back({{"user", "tenant:" + invoice.tenant},
                          {"relation", "tenant"},
                          {"object", "invoice:" + invoice.id}});
      }
      if (auto written = fga("/write", {{"writes", {{"tuple_keys", writes}}}}); !written) {
        return unavailable(written.error());
      }
    }
    {
      std::lock_guard lock(mutex_);
      invoices_.emplace(invoice.id, invoice);
    }
    http::Response r = no_store(201, to_json(invoice));
    r.headers.set("Location", "/invoices/" + invoice.id);
    return r;
  }

  // API A of the chain: the caller's token is exchanged (RFC 8693 §2.1) for one aimed at the
  // ledger with invoices:read only; that one, never the caller's, goes to the ledger.
  http::Response chain(const http::Request& request) const {
    auto caller = authenticate(request, {"invoices:read"});
    if (caller.refusal) return std::move(*caller.refusal);
    const resource::Principal& p = *caller.principal;
    auto invoice = viewable_invoice(p, std::string(request.param("id").value_or("")));
    if (!invoice) return invoice.error();
    if (options_.token_endpoint.empty() || options_.ledger_url.empty()) {
      return http::Response::error(404, "not_found", "this API has no ledger to ask");
    }
    std::string token;  // under the Bearer or the DPoP scheme, validated above
    resource::TokenScheme scheme = resource::TokenScheme::kBearer;
    resource::access_token(request.header("Authorization"), token, scheme);
    const int64_t now = SystemClock::instance().now();
    const std::string cache_key = crypto::sha256(token);
    std::string ledger_token;
    if (auto cached = cached_exchange(cache_key, now)) {
      ledger_token = std::move(*cached);
    } else {
      auto fresh = exchange(token);
      if (!fresh) return fresh.error();
      // Kept until shortly before the sooner of its own and the caller's token's expiry.
      remember_exchange(cache_key, fresh->first,
                        std::min(now + fresh->second, p.expires_at) - kExchangeMarginSeconds, now);
      ledger_token = std::move(fresh->first);
    }
    http::Headers headers;
    headers.set("Authorization", "Bearer " + ledger_token);
    auto ledger = client_.get(options_.ledger_url + "/ledger/" + invoice->id, headers);
    if (!ledger) return unavailable("the ledger API cannot be reached");
    auto ledger_body = json::parse_strict(ledger->body, {});
    if (!ledger_body) return unavailable("the ledger API answered something other than JSON");
    json::Json actors = json::Json::array();
    for (const auto& a : p.actors) actors.push_back(a.subject);
    Json hops = Json::array();
    hops.push_back(
        {{"api", "invoices"},
         {"status", 200},
         {"decision", {{"subject", p.subject}, {"actors", actors}, {"scope", p.scopes}}}});
    hops.push_back({{"api", "ledger"}, {"status", ledger->status}, {"answer", *ledger_body}});
    return no_store(ledger->status == 200 ? 200 : 502,
                    {{"invoice", to_json(*invoice)}, {"hops", hops}});
  }

  // RFC 8693 §2.1: the caller's token for one aimed at the ledger with invoices:read only; the
  // issued token and its lifetime (expires_in, RFC 8693 §2.2.1), or the answer to give.
  Result<std::pair<std::string, int64_t>, http::Response> exchange(const std::string& token) const {
    http::Params form;
    form.add("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange");
    form.add("subject_token", token);
    form.add("subject_token_type", "urn:ietf:params:oauth:token-type:access_token");
    form.add("audience", options_.ledger_audience);
    form.add("scope", "invoices:read");
    form.add("client_id", options_.client_id);
    form.add("client_secret", options_.client_secret);
    auto exchanged = client_.post_form(options_.token_endpoint, form);
    if (!exchanged) return Err(unavailable("the token endpoint cannot be reached"));
    auto issued = json::parse_strict(exchanged->body, {});
    if (exchanged->status != 200 || !issued || !issued->contains("access_token") ||
        !(*issued)["access_token"].is_string()) {
      // The authorization server refused: the user's token cannot be delegated here.
      return Err(http::Response::error(403, "access_denied",
                                       "the token could not be exchanged for the ledger"));
    }
    // Without expires_in (RECOMMENDED, not required) the token is used once and not kept.
    const Json& expires_in = (*issued)["expires_in"];
    const int64_t lifetime = expires_in.is_number_integer() ? expires_in.get<int64_t>() : 0;
    return std::pair{(*issued)["access_token"].get<std::string>(), lifetime};
  }

  // Exchanged tokens by the SHA-256 of the caller's token: one token request per user token,
  // not one per chain call. At most kMaxExchanges; when full, expired ones go first, then all.
  static constexpr size_t kMaxExchanges = 10'000;
  static constexpr int64_t kExchangeMarginSeconds = 10;

  std::optional<std::string> cached_exchange(const std::string& key, int64_t now) const {
    std::lock_guard lock(exchange_mutex_);
    auto found = exchanges_.find(key);
    if (found == exchanges_.end()) return std::nullopt;
    if (found->second.second <= now) {
      exchanges_.erase(found);
      return std::nullopt;
    }
    return found->second.first;
  }

  void remember_exchange(const std::string& key, const std::string& token, int64_t until,
                         int64_t now) const {
    if (until <= now) return;
    std::lock_guard lock(exchange_mutex_);
    if (exchanges_.size() >= kMaxExchanges) {
      std::erase_if(exchanges_, [now](const auto& e) { return e.second.second <= now; });
      if (exchanges_.size() >= kMaxExchanges) exchanges_.clear();
    }
    exchanges_[key] = {token, until};
  }

  InvoicesApiOptions options_;
  resource::Authenticator authenticator_;
  resource::DpopVerifier dpop_;
  mutable http::HttpClient client_;
  mutable std::mutex mutex_;
  std::map<std::string, Invoice> invoices_;
  mutable std::mutex exchange_mutex_;
  mutable std::unordered_map<std::string, std::pair<std::string, int64_t>> exchanges_;
  WorkerPool pool_;
};

InvoicesApi::InvoicesApi(InvoicesApiOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
InvoicesApi::~InvoicesApi() = default;
void InvoicesApi::add_routes(http::Router& router) { impl_->add_routes(router); }

}  // namespace tessera::examples
