// API B of the seeds' API-to-API chain: the ledger of payments per invoice. It is reached only by
// other APIs, with tokens obtained by token exchange (RFC 8693): it accepts a token only when its
// audience is the ledger, it carries invoices:read, and it was delegated (act, RFC 8693 §4.1) to
// one of the APIs it trusts. It answers who the token says is asking (sub) and through whom
// (act.sub), so every hop's decision can be seen end to end.
//
//   GET /ledger/{invoice_id}   the payments of one invoice
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "http/router.h"
#include "tessera/validator.h"

namespace tessera::examples {

struct LedgerEntry {
  std::string date;  // YYYY-MM-DD
  int64_t amount_cents = 0;
};

struct LedgerApiOptions {
  std::string realm = "ledger";
  resource::ValidatorOptions validator;     // issuer, audiences {the ledger audience}
  std::vector<std::string> trusted_actors;  // act.sub values (client ids) allowed to call
  std::map<std::string, std::vector<LedgerEntry>> entries;  // by invoice id
  size_t threads = 4;  // the first token of a key set waits on the issuer's JWKS
};

class LedgerApi {
 public:
  explicit LedgerApi(LedgerApiOptions options);  // throws std::invalid_argument
  ~LedgerApi();
  LedgerApi(const LedgerApi&) = delete;
  LedgerApi& operator=(const LedgerApi&) = delete;

  void add_routes(http::Router& router);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::examples
