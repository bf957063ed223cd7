#include "examples/apis/ledger_api.h"

#include <algorithm>
#include <stdexcept>

#include "core/json.h"
#include "core/worker_pool.h"
#include "resource/http_server.h"

namespace tessera::examples {

class LedgerApi::Impl {
 public:
  explicit Impl(LedgerApiOptions o)
      : options_(std::move(o)),
        authenticator_(std::make_shared<resource::Validator>(options_.validator),
                       std::make_shared<resource::ClaimsCache>()),
        pool_(options_.threads, 1024) {
    if (options_.trusted_actors.empty()) {
      throw std::invalid_argument("the ledger API trusts no API to call it");
    }
  }

  void add_routes(http::Router& router) {
    router.add_async("GET", "/ledger/{invoice_id}",
                     http::on_pool(pool_, [this](const http::Request& r) { return entries(r); }));
  }

 private:
  http::Response entries(const http::Request& request) const {
    auto caller =
        resource::authenticate_request(authenticator_, options_.realm, request, {"invoices:read"});
    if (caller.refusal) return std::move(*caller.refusal);
    const resource::Principal& p = *caller.principal;
    // RFC 8693 §4.1: the current actor is the API that exchanged the token. A token the user's
    // own client holds (no act) never reaches the ledger directly.
    if (!p.delegated() || std::find(options_.trusted_actors.begin(), options_.trusted_actors.end(),
                                    p.actors.front().subject) == options_.trusted_actors.end()) {
      return http::Response::error(403, "access_denied",
                                   "the ledger answers only APIs acting for a user");
    }
    const std::string id(request.param("invoice_id").value_or(""));
    auto found = options_.entries.find(id);
    json::Json list = json::Json::array();
    if (found != options_.entries.end()) {
      for (const auto& e : found->second) {
        list.push_back({{"date", e.date}, {"amount_cents", e.amount_cents}});
      }
    }
    json::Json chain = json::Json::array();
    for (const auto& a : p.actors) chain.push_back(a.subject);
    http::Response r = http::Response::json(200, {{"api", "ledger"},
                                                  {"invoice", id},
                                                  {"entries", list},
                                                  {"decision",
                                                   {{"subject", p.subject},
                                                    {"actors", chain},
                                                    {"scope", p.scopes},
                                                    {"token_id", p.token_id}}}});
    r.headers.set("Cache-Control", "no-store");
    return r;
  }

  LedgerApiOptions options_;
  resource::Authenticator authenticator_;
  WorkerPool pool_;
};

LedgerApi::LedgerApi(LedgerApiOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
LedgerApi::~LedgerApi() = default;
void LedgerApi::add_routes(http::Router& router) { impl_->add_routes(router); }

}  // namespace tessera::examples
