// `tessera key ...`: the authorization server's signing keys (issue 3, Administration).
//   rotate [--now] [--json]   step 1 of a rotation: introduce the next key (published in the
//                             JWKS, signs nothing yet); running servers activate it once it has
//                             been published for the JWKS cache max-age (oauth/key_refresher.h).
//                             --now activates it at once, for a compromised key.
//   list [--json]             every key: kid, alg, status, created / activated / retire_after.
// Both work on the store named by --config FILE or --data-dir DIR; rotate also needs the instance
// key that seals private keys (see app/admin_store.h) and uses the configured as.signing_alg.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <string>

#include "app/admin_store.h"
#include "app/commands.h"
#include "core/audit.h"
#include "core/json.h"
#include "oauth/key_refresher.h"
#include "oauth/keys.h"
#include "store/client_store.h"

namespace tessera::app {
namespace {

// The JWKS response's Cache-Control max-age, which KeyRefresherOptions::min_published matches.
const int64_t kJwksMaxAge = oauth::KeyRefresherOptions{}.min_published;

std::string utc(std::optional<int64_t> t) {
  if (!t) return "-";
  const std::time_t seconds = *t;
  std::tm tm{};
  if (gmtime_r(&seconds, &tm) == nullptr) return std::to_string(*t);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

json::Json optional_json(std::optional<int64_t> t) { return t ? json::Json(*t) : json::Json(); }

json::Json key_json(const store::SigningKey& key, int64_t now) {
  // RFC 7517 §5: a retired key leaves the JWKS at retire_after (and the store soon after).
  const bool published = key.status != store::KeyStatus::kRetired || key.retire_after > now;
  return json::Json{{"kid", key.kid},
                    {"alg", key.alg},
                    {"status", store::to_string(key.status)},
                    {"published", published},
                    {"created_at", key.created_at},
                    {"activated_at", optional_json(key.activated_at)},
                    {"retire_after", optional_json(key.retire_after)}};
}

Result<Ok, Failure> list_keys(const StoreChoice& choice, bool as_json) {
  auto store = open_chosen_store(choice);
  if (!store) return Err(store.error());
  auto keys = (*store)->signing_keys().list();
  if (!keys) return Err(store_failure(keys.error()));
  const int64_t now = (*store)->clock().now();
  if (as_json) {
    json::Json out = json::Json::array();
    for (const auto& key : *keys) out.push_back(key_json(key, now));
    std::printf("%s\n", out.dump().c_str());
    return Ok{};
  }
  std::printf("%-44s %-6s %-8s %-20s %-20s %s\n", "KID", "ALG", "STATUS", "CREATED", "ACTIVATED",
              "RETIRE AFTER");
  for (const auto& key : *keys) {
    std::printf("%-44s %-6s %-8s %-20s %-20s %s\n", key.kid.c_str(), key.alg.c_str(),
                std::string(store::to_string(key.status)).c_str(), utc(key.created_at).c_str(),
                utc(key.activated_at).c_str(), utc(key.retire_after).c_str());
  }
  return Ok{};
}

// The next key of `alg`, if one was introduced and not yet activated.
Result<std::optional<store::SigningKey>, Failure> find_next(store::SigningKeyStore& keys,
                                                            jose::Alg alg) {
  auto rows = keys.list();
  if (!rows) return Err(store_failure(rows.error()));
  for (auto& row : *rows) {
    if (row.status == store::KeyStatus::kNext && row.alg == jose::to_string(alg)) {
      return std::optional<store::SigningKey>(std::move(row));
    }
  }
  return std::optional<store::SigningKey>();
}

Result<Ok, Failure> rotate(const StoreChoice& choice, bool now, bool as_json) {
  auto alg = chosen_signing_alg(choice);
  if (!alg) return Err(alg.error());
  auto secret_key = load_chosen_secret_key(choice);
  if (!secret_key) return Err(secret_key.error());
  auto store = open_chosen_store(choice);
  if (!store) return Err(store.error());
  oauth::SigningKeys keys((*store)->signing_keys(), std::move(*secret_key), *alg,
                          (*store)->clock());
  // Also proves the instance key opens the active key before anything is written, and creates
  // the first key on a store no server has started on yet.
  if (auto loaded = keys.load_or_create(); !loaded) {
    return Err(Failure{kExitFailed, loaded.error()});
  }
  const std::string previous = keys.active()->kid;

  auto next = find_next((*store)->signing_keys(), *alg);
  if (!next) return Err(next.error());
  std::string kid;
  if (*next && now) {
    kid = (*next)->kid;  // introduced earlier and already published: activate that one
  } else {
    auto introduced = keys.introduce_next();
    if (!introduced) {
      return Err(Failure{kExitFailed, introduced.error() +
                                          " (a running server activates it once published for " +
                                          std::to_string(kJwksMaxAge) +
                                          "s; `tessera key rotate --now` activates it at once)"});
    }
    kid = std::move(*introduced);
    audit::emit("signing_key.introduced", {{"kid", kid}, {"alg", jose::to_string(*alg)}});
  }
  if (now) {
    // The previous key stays published as long as the longest access token it may have signed.
    auto activated = keys.activate_next(store::kMaxAccessTokenLifetime, 0);
    if (!activated) return Err(Failure{kExitFailed, activated.error()});
    audit::emit("signing_key.activated", {{"kid", kid},
                                          {"alg", jose::to_string(*alg)},
                                          {"retired_kid", previous},
                                          {"by", "tessera key rotate --now"}});
    std::fprintf(stderr,
                 "tessera key rotate: warning: %s signs from now on (once running servers reload "
                 "their keys); verifiers that fetched the JWKS in the last %llds may not know it "
                 "yet and reject its tokens until they fetch it again\n",
                 kid.c_str(), static_cast<long long>(kJwksMaxAge));
  }
  if (as_json) {
    json::Json out = {{"kid", kid},
                      {"alg", jose::to_string(*alg)},
                      {"status", now ? "active" : "next"},
                      {"active_kid", now ? kid : previous}};
    if (now) out["retired_kid"] = previous;
    std::printf("%s\n", out.dump().c_str());
  } else if (now) {
    std::printf("activated key %s (%s); %s retired, published for %llds more\n", kid.c_str(),
                jose::to_string(*alg), previous.c_str(),
                static_cast<long long>(store::kMaxAccessTokenLifetime));
  } else {
    std::printf(
        "introduced key %s (%s), published in the JWKS; running servers activate it after %llds\n",
        kid.c_str(), jose::to_string(*alg), static_cast<long long>(kJwksMaxAge));
  }
  return Ok{};
}

template <class Action>
int run(const char* name, Action action) {
  auto done = action();
  if (done) return 0;
  std::fprintf(stderr, "tessera key %s: %s\n", name, done.error().message.c_str());
  return done.error().code;
}

}  // namespace

void add_key_commands(CLI::App& app, int& rc) {
  auto* key = app.add_subcommand("key", "Administer the authorization server's signing keys");
  key->require_subcommand(1);
  static StoreChoice choice;

  static bool now = false;
  static bool rotate_json = false;
  auto* rotate_cmd =
      key->add_subcommand("rotate", "Introduce the next signing key (published before it signs)");
  rotate_cmd->add_flag("--now", now,
                       "Activate it at once (a compromised key); caches may not have it yet");
  rotate_cmd->add_flag("--json", rotate_json, "Print the result as JSON");
  add_store_options(rotate_cmd, choice, /*with_secret_key=*/true);
  rotate_cmd->callback(
      [&rc] { rc = run("rotate", [] { return rotate(choice, now, rotate_json); }); });

  static bool list_json = false;
  auto* list_cmd = key->add_subcommand("list", "List signing keys and their status");
  list_cmd->add_flag("--json", list_json, "Print a JSON array");
  add_store_options(list_cmd, choice, /*with_secret_key=*/false);
  list_cmd->callback([&rc] { rc = run("list", [] { return list_keys(choice, list_json); }); });
}

}  // namespace tessera::app
