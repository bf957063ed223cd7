// `tessera user ...`: administration of the people who log in (issue 3, Administration).
//   create USERNAME [--password-stdin] [--email E] [--name N] [--totp] [--json]
//   list [--json]
//   set-password USERNAME --password-stdin
//   hash-password < password
//   disable|enable USERNAME
//   consents USERNAME [--json]
//   revoke-consent USERNAME CLIENT_ID
//   sessions USERNAME [--json]
//   revoke-session USERNAME (SID | --all)
// Each works on the store named by --config FILE (its `store` section, as `serve` opens it) or
// --data-dir DIR (the demo's SQLite file DIR/tessera.db). TOTP seeds are sealed with the instance
// key (TESSERA_SECRET_KEY or --secret-key-file).
// Exit codes: 0 ok, 1 the operation failed (unknown user, name taken, store error), 2 bad input
// or usage (unreadable configuration or key, unacceptable username or password).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include "app/admin_store.h"
#include "app/commands.h"
#include "core/aead.h"
#include "core/crypto.h"
#include "core/json.h"
#include "identity/authenticator.h"
#include "identity/base32.h"
#include "identity/password_hash.h"
#include "identity/totp.h"
#include "oauth/backchannel_logout.h"
#include "oauth/client_cache.h"
#include "oauth/keys.h"
#include "oauth/tokens.h"
#include "store/store.h"

namespace tessera::app {
namespace {

constexpr std::string_view kTotpIssuer = "Tessera";

// The whole of stdin, less one trailing line break (what `echo pw |` adds).
Result<std::string, Failure> read_password_from_stdin() {
  std::string text;
  char buffer[4096];
  while (std::cin.read(buffer, sizeof buffer) || std::cin.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(std::cin.gcount()));
    if (text.size() > identity::kMaxPasswordBytes + 2) break;
  }
  if (text.ends_with("\n")) text.pop_back();
  if (text.ends_with("\r")) text.pop_back();
  return text;
}

Result<std::string, Failure> hash(const std::string& password) {
  auto hashed = identity::hash_password(password);
  if (!hashed) {
    const int code =
        hashed.error() == identity::PasswordError::kInternal ? kExitFailed : kExitBadInput;
    return Err(Failure{code, std::string(identity::to_string(hashed.error()))});
  }
  return *hashed;
}

// The store, and the user named `username` in it.
struct StoreAndUser {
  std::unique_ptr<store::Store> store;
  store::User user;
};

Result<StoreAndUser, Failure> open_with_user(const StoreChoice& choice,
                                             const std::string& username) {
  auto store = open_chosen_store(choice);
  if (!store) return Err(store.error());
  auto found = (*store)->users().find_by_username(username);
  if (!found) return Err(Failure{kExitFailed, found.error().message});
  if (!*found) return Err(Failure{kExitFailed, "no such user: " + username});
  return StoreAndUser{std::move(*store), std::move(**found)};
}

json::Json user_json(const store::User& user) {
  auto profile = json::parse_strict(user.profile_json);
  return json::Json{{"id", user.id},
                    {"username", user.username},
                    {"disabled", user.disabled},
                    {"totp", user.totp_secret_encrypted.has_value()},
                    {"created_at", user.created_at},
                    {"updated_at", user.updated_at},
                    {"profile", profile ? *profile : json::Json::object()}};
}

struct CreateOptions {
  std::string username;
  bool password_stdin = false;
  std::string email;
  std::string name;
  bool totp = false;
  bool json = false;
};

Result<Ok, Failure> create_user(const StoreChoice& choice, const CreateOptions& o) {
  if (!store::canonical_username(o.username)) {
    return Err(
        Failure{kExitBadInput, "username must be 1 to 128 characters from A-Z a-z 0-9 . _ @ + -"});
  }
  // Everything that can fail on input is checked before the store is written.
  std::string key;
  if (o.totp) {
    auto loaded = aead::load_key(choice.secret_key_file);
    if (!loaded) return Err(Failure{kExitBadInput, loaded.error()});
    key = std::move(*loaded);
  }
  std::string password;
  const bool generated = !o.password_stdin;
  if (o.password_stdin) {
    auto read = read_password_from_stdin();
    if (!read) return Err(read.error());
    password = std::move(*read);
  } else {
    password = crypto::random_token(18);
  }
  auto hashed = hash(password);
  if (!hashed) return Err(hashed.error());
  json::Json profile = json::Json::object();
  if (!o.name.empty()) profile["name"] = o.name;
  if (!o.email.empty()) {
    profile["email"] = o.email;
    profile["email_verified"] = false;
  }
  auto store = open_chosen_store(choice);
  if (!store) return Err(store.error());
  auto created = (*store)->users().create({o.username, *hashed, profile.dump()});
  if (!created) return Err(store_failure(created.error()));

  json::Json out = user_json(*created);
  if (generated) out["password"] = password;
  if (o.totp) {
    const std::string secret = identity::new_totp_secret();
    auto enrolled = (*store)->users().set_totp(
        created->id, identity::seal_totp_secret(key, created->id, secret));
    if (!enrolled) {
      return Err(Failure{kExitFailed,
                         "user created, but TOTP enrolment failed: " + enrolled.error().message});
    }
    out["totp"] = true;
    out["totp_secret"] = identity::base32::encode(secret, /*pad=*/false);
    out["otpauth_uri"] = identity::otpauth_uri(kTotpIssuer, created->username, secret);
  }
  if (o.json) {
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("created user %s (id %s)\n", created->username.c_str(), created->id.c_str());
    if (generated) std::printf("password: %s\n", password.c_str());
    if (o.totp) {
      std::printf("totp secret: %s\notpauth uri: %s\n",
                  out["totp_secret"].get<std::string>().c_str(),
                  out["otpauth_uri"].get<std::string>().c_str());
    }
    if (generated || o.totp) std::printf("(shown once: it is not stored in a readable form)\n");
  }
  return Ok{};
}

Result<Ok, Failure> list_users(const StoreChoice& choice, bool as_json) {
  auto store = open_chosen_store(choice);
  if (!store) return Err(store.error());
  auto users = (*store)->users().list();
  if (!users) return Err(Failure{kExitFailed, users.error().message});
  if (as_json) {
    json::Json out = json::Json::array();
    for (const auto& user : *users) out.push_back(user_json(user));
    std::printf("%s\n", out.dump().c_str());
    return Ok{};
  }
  std::printf("%-32s %-24s %-8s %s\n", "USERNAME", "ID", "STATUS", "TOTP");
  for (const auto& user : *users) {
    std::printf("%-32s %-24s %-8s %s\n", user.username.c_str(), user.id.c_str(),
                user.disabled ? "disabled" : "active", user.totp_secret_encrypted ? "yes" : "no");
  }
  return Ok{};
}

// RFC 9700 §4.14.2: a password change or a disabled account ends the user's sessions and
// revokes their grants (refresh tokens and opaque access tokens at once; JWT access tokens end
// with their short lifetime). Returns how many grants were revoked.
Result<int64_t, Failure> sign_out_everywhere(store::Store& store, const store::User& user) {
  auto ended = store.sessions().remove_for_user(user.id);
  if (!ended) return Err(store_failure(ended.error()));
  auto grants = store.grants().list_grants_for_subject(user.id);
  if (!grants) return Err(store_failure(grants.error()));
  int64_t revoked = 0;
  for (const store::GrantRecord& grant : *grants) {
    auto done = store.grants().revoke_grant(grant.id);
    if (!done) return Err(store_failure(done.error()));
    ++revoked;
  }
  return revoked;
}

// An argon2id PHC string for a password read from stdin, for configuration that holds password
// hashes (the gateway's basic users); no store is opened.
Result<Ok, Failure> hash_password_command() {
  auto password = read_password_from_stdin();
  if (!password) return Err(password.error());
  auto hashed = hash(*password);
  if (!hashed) return Err(hashed.error());
  std::printf("%s\n", hashed->c_str());
  return Ok{};
}

Result<Ok, Failure> set_password(const StoreChoice& choice, const std::string& username,
                                 bool password_stdin) {
  if (!password_stdin) {
    return Err(Failure{kExitBadInput,
                       "--password-stdin is required (passwords never go in "
                       "arguments, which other users can see)"});
  }
  auto password = read_password_from_stdin();
  if (!password) return Err(password.error());
  auto hashed = hash(*password);
  if (!hashed) return Err(hashed.error());
  auto opened = open_with_user(choice, username);
  if (!opened) return Err(opened.error());
  auto& [store, user] = *opened;
  auto stored = store->users().set_password_hash(user.id, *hashed);
  if (!stored) return Err(store_failure(stored.error()));
  auto revoked = sign_out_everywhere(*store, user);
  if (!revoked) return Err(revoked.error());
  std::printf("password of %s changed; signed out everywhere, %lld grant(s) revoked\n",
              user.username.c_str(), static_cast<long long>(*revoked));
  return Ok{};
}

Result<Ok, Failure> set_disabled(const StoreChoice& choice, const std::string& username,
                                 bool disabled) {
  auto opened = open_with_user(choice, username);
  if (!opened) return Err(opened.error());
  auto& [store, user] = *opened;
  auto stored = store->users().set_disabled(user.id, disabled);
  if (!stored) return Err(store_failure(stored.error()));
  if (disabled) {
    auto revoked = sign_out_everywhere(*store, user);
    if (!revoked) return Err(revoked.error());
    std::printf("%s disabled; signed out everywhere, %lld grant(s) revoked\n",
                user.username.c_str(), static_cast<long long>(*revoked));
  } else {
    std::printf("%s enabled\n", user.username.c_str());
  }
  return Ok{};
}

// One consent as `consents --json` prints it.
json::Json consent_json(const store::Consent& consent) {
  return json::Json{{"client_id", consent.client_id},
                    {"scopes", consent.scopes},
                    {"granted_at", consent.granted_at}};
}

Result<Ok, Failure> list_consents(const StoreChoice& choice, const std::string& username,
                                  bool as_json) {
  auto opened = open_with_user(choice, username);
  if (!opened) return Err(opened.error());
  auto& [store, user] = *opened;
  auto consents = store->consents().list_for_user(user.id);
  if (!consents) return Err(store_failure(consents.error()));
  if (as_json) {
    json::Json out = json::Json::array();
    for (const auto& consent : *consents) out.push_back(consent_json(consent));
    std::printf("%s\n", out.dump().c_str());
    return Ok{};
  }
  std::printf("%-32s %-12s %s\n", "CLIENT_ID", "GRANTED_AT", "SCOPES");
  for (const auto& consent : *consents) {
    std::string scopes;
    for (const auto& scope : consent.scopes) scopes += (scopes.empty() ? "" : " ") + scope;
    std::printf("%-32s %-12lld %s\n", consent.client_id.c_str(),
                static_cast<long long>(consent.granted_at), scopes.c_str());
  }
  return Ok{};
}

// Withdraws what the user allowed the client (OpenID Core §3.1.2.4: the consent page is shown
// again on the next authorization) and revokes the user's grants to that client with every
// refresh and access token under them (RFC 7009 §2.1 applied to the whole grant).
Result<Ok, Failure> revoke_consent(const StoreChoice& choice, const std::string& username,
                                   const std::string& client_id) {
  auto opened = open_with_user(choice, username);
  if (!opened) return Err(opened.error());
  auto& [store, user] = *opened;
  auto withdrawn = store::withdraw_consent(*store, user.id, client_id);
  if (!withdrawn) return Err(store_failure(withdrawn.error()));
  if (!*withdrawn) {
    return Err(Failure{kExitFailed, user.username + " has no consent for client " + client_id});
  }
  const int64_t grants_revoked = **withdrawn;
  std::printf("consent of %s for %s revoked; %lld grant(s) revoked\n", user.username.c_str(),
              client_id.c_str(), static_cast<long long>(grants_revoked));
  return Ok{};
}

// One browser session as `sessions --json` prints it (never its cookie or the cookie's hash).
json::Json session_json(const store::Session& session) {
  return json::Json{{"sid", session.sid},
                    {"created_at", session.created_at},
                    {"auth_time", session.auth_time},
                    {"acr", session.acr},
                    {"amr", session.amr},
                    {"expires_at", session.expires_at}};
}

Result<Ok, Failure> list_sessions(const StoreChoice& choice, const std::string& username,
                                  bool as_json) {
  auto opened = open_with_user(choice, username);
  if (!opened) return Err(opened.error());
  auto& [store, user] = *opened;
  auto sessions = store->sessions().list_for_user(user.id);
  if (!sessions) return Err(store_failure(sessions.error()));
  if (as_json) {
    json::Json out = json::Json::array();
    for (const auto& session : *sessions) out.push_back(session_json(session));
    std::printf("%s\n", out.dump().c_str());
    return Ok{};
  }
  std::printf("%-24s %-12s %-12s %-12s %s\n", "SID", "CREATED_AT", "AUTH_TIME", "EXPIRES_AT",
              "AMR");
  for (const auto& session : *sessions) {
    std::string amr;
    for (const auto& method : session.amr) amr += (amr.empty() ? "" : " ") + method;
    std::printf("%-24s %-12lld %-12lld %-12lld %s\n", session.sid.c_str(),
                static_cast<long long>(session.created_at),
                static_cast<long long>(session.auth_time),
                static_cast<long long>(session.expires_at), amr.c_str());
  }
  return Ok{};
}

// What tells clients that a session ended here (OpenID Connect Back-Channel Logout 1.0): the
// server's signing keys and issuer, from a configuration with an `as` section. Without one
// (--data-dir, a configuration of the store alone) nobody can sign a logout token for the server.
struct LogoutNotifier {
  std::unique_ptr<oauth::SigningKeys> keys;
  std::unique_ptr<oauth::ClientCache> clients;
  std::unique_ptr<oauth::TokenService> tokens;
  std::unique_ptr<oauth::SessionEnder> ender;
};

Result<std::unique_ptr<LogoutNotifier>, Failure> logout_notifier(const StoreChoice& choice,
                                                                 store::Store& store) {
  if (choice.config_file.empty()) return std::unique_ptr<LogoutNotifier>();
  auto config = load_config(choice.config_file);
  if (!config) return Err(Failure{kExitBadInput, "configuration error: " + config.error()});
  if (!config->as) return std::unique_ptr<LogoutNotifier>();
  auto alg = chosen_signing_alg(choice);
  if (!alg) return Err(alg.error());
  auto secret_key = load_chosen_secret_key(choice);
  if (!secret_key) return Err(secret_key.error());
  auto n = std::make_unique<LogoutNotifier>();
  n->keys = std::make_unique<oauth::SigningKeys>(store.signing_keys(), std::move(*secret_key), *alg,
                                                 store.clock());
  if (auto loaded = n->keys->load_or_create(); !loaded) {
    return Err(Failure{kExitFailed, "cannot load the signing keys: " + loaded.error()});
  }
  n->clients = std::make_unique<oauth::ClientCache>(store.clients(), store.clock());
  n->tokens = std::make_unique<oauth::TokenService>(config->as->issuer, *n->keys, store.clock());
  n->ender = std::make_unique<oauth::SessionEnder>(store, *n->clients, *n->tokens);
  return n;
}

// Ends one browser session of the user (or all of them) and revokes the grants authorized in
// it, with their refresh and opaque access tokens, as a logout there would (OpenID
// RP-Initiated Logout §2 applied by an administrator). With the server's configuration, the
// session's clients with a backchannel_logout_uri get their logout tokens before the command
// returns.
Result<Ok, Failure> revoke_session(const StoreChoice& choice, const std::string& username,
                                   const std::string& sid, bool all) {
  if (sid.empty() && !all) return Err(Failure{kExitBadInput, "name a session id, or --all"});
  auto opened = open_with_user(choice, username);
  if (!opened) return Err(opened.error());
  auto& [store, user] = *opened;
  auto notifier = logout_notifier(choice, *store);
  if (!notifier) return Err(notifier.error());
  auto sessions = store->sessions().list_for_user(user.id);
  if (!sessions) return Err(store_failure(sessions.error()));
  int64_t ended = 0;
  int64_t grants = 0;
  for (const auto& session : *sessions) {
    if (!all && session.sid != sid) continue;
    if (*notifier) {
      // The logout path: grants revoked, session removed, logout tokens queued.
      if (auto done = (*notifier)->ender->end(session); !done) {
        (*notifier)->ender->wait_idle();  // the sessions ended before this one are still told
        return Err(Failure{kExitFailed, "ending session " + session.sid + ": " + done.error()});
      }
    } else {
      auto removed = store->sessions().remove_by_sid(session.sid);
      if (!removed) return Err(store_failure(removed.error()));
      auto revoked = store->grants().revoke_grants_for_session(session.sid);
      if (!revoked) return Err(store_failure(revoked.error()));
      grants += *revoked;
    }
    ++ended;
  }
  if (!all && ended == 0) {
    return Err(Failure{kExitFailed, user.username + " has no session " + sid});
  }
  if (*notifier) {
    (*notifier)->ender->wait_idle();  // every logout token sent or failed (audit events)
    std::printf(
        "%lld session(s) of %s ended; their grants revoked; back-channel logout attempted "
        "(failures are audit events)\n",
        static_cast<long long>(ended), user.username.c_str());
  } else {
    std::printf("%lld session(s) of %s ended; %lld grant(s) revoked\n",
                static_cast<long long>(ended), user.username.c_str(),
                static_cast<long long>(grants));
    std::printf(
        "clients not told: back-channel logout needs --config with the server's as section\n");
  }
  return Ok{};
}

// The shared --config/--data-dir, and --secret-key-file read as given (or TESSERA_SECRET_KEY):
// `tessera user` does not fall back to the configuration's or the demo's key file.
void add_user_store_options(CLI::App* cmd, StoreChoice& choice) {
  add_store_options(cmd, choice, /*with_secret_key=*/false);
  cmd->add_option("--secret-key-file", choice.secret_key_file,
                  "Instance key (base64url, 32 bytes); default: $TESSERA_SECRET_KEY");
}

int run(const char* name, auto action) { return run_admin("user", name, std::move(action)); }

}  // namespace

void add_user_commands(CLI::App& app, int& rc) {
  auto* user = app.add_subcommand(
      "user", "Administer users: create, list, set passwords, consents, sessions");
  user->require_subcommand(1);
  static StoreChoice choice;

  static CreateOptions create;
  auto* create_cmd = user->add_subcommand("create", "Create a user");
  create_cmd->add_option("username", create.username, "Username")->required();
  create_cmd->add_flag("--password-stdin", create.password_stdin,
                       "Read the password from stdin (default: generate and print one)");
  create_cmd->add_option("--email", create.email, "E-mail address (profile claim)");
  create_cmd->add_option("--name", create.name, "Full name (profile claim)");
  create_cmd->add_flag("--totp", create.totp, "Enrol TOTP; prints the secret and otpauth URI");
  create_cmd->add_flag("--json", create.json, "Print the result as JSON");
  add_user_store_options(create_cmd, choice);
  create_cmd->callback([&rc] { rc = run("create", [] { return create_user(choice, create); }); });

  static bool list_json = false;
  auto* list_cmd = user->add_subcommand("list", "List users");
  list_cmd->add_flag("--json", list_json, "Print a JSON array");
  add_user_store_options(list_cmd, choice);
  list_cmd->callback([&rc] { rc = run("list", [] { return list_users(choice, list_json); }); });

  static std::string target;
  static bool password_stdin = false;
  auto* password_cmd = user->add_subcommand("set-password", "Set a user's password");
  password_cmd->add_option("username", target, "Username")->required();
  password_cmd->add_flag("--password-stdin", password_stdin, "Read the password from stdin");
  add_user_store_options(password_cmd, choice);
  password_cmd->callback([&rc] {
    rc = run("set-password", [] { return set_password(choice, target, password_stdin); });
  });

  auto* hash_cmd = user->add_subcommand(
      "hash-password",
      "Print the argon2id hash of the password on stdin (for gateway.basic_users)");
  hash_cmd->callback([&rc] { rc = run("hash-password", [] { return hash_password_command(); }); });

  for (const bool disabled : {true, false}) {
    auto* cmd = user->add_subcommand(disabled ? "disable" : "enable",
                                     disabled ? "Disable a user (logins fail)" : "Enable a user");
    cmd->add_option("username", target, "Username")->required();
    add_user_store_options(cmd, choice);
    cmd->callback([&rc, disabled] {
      rc = run(disabled ? "disable" : "enable",
               [disabled] { return set_disabled(choice, target, disabled); });
    });
  }

  static bool consents_json = false;
  auto* consents_cmd = user->add_subcommand("consents", "List what a user consented to");
  consents_cmd->add_option("username", target, "Username")->required();
  consents_cmd->add_flag("--json", consents_json, "Print a JSON array");
  add_user_store_options(consents_cmd, choice);
  consents_cmd->callback(
      [&rc] { rc = run("consents", [] { return list_consents(choice, target, consents_json); }); });

  static std::string client_id;
  auto* revoke_cmd = user->add_subcommand(
      "revoke-consent", "Withdraw a user's consent for a client and revoke their grants to it");
  revoke_cmd->add_option("username", target, "Username")->required();
  revoke_cmd->add_option("client_id", client_id, "Client ID")->required();
  add_user_store_options(revoke_cmd, choice);
  revoke_cmd->callback([&rc] {
    rc = run("revoke-consent", [] { return revoke_consent(choice, target, client_id); });
  });

  static bool sessions_json = false;
  auto* sessions_cmd = user->add_subcommand("sessions", "List a user's browser sessions");
  sessions_cmd->add_option("username", target, "Username")->required();
  sessions_cmd->add_flag("--json", sessions_json, "Print a JSON array");
  add_user_store_options(sessions_cmd, choice);
  sessions_cmd->callback(
      [&rc] { rc = run("sessions", [] { return list_sessions(choice, target, sessions_json); }); });

  static std::string sid;
  static bool all_sessions = false;
  auto* end_cmd = user->add_subcommand(
      "revoke-session", "End a user's browser session (or --all) and revoke the grants made in it");
  end_cmd->add_option("username", target, "Username")->required();
  auto* sid_option = end_cmd->add_option(
      "sid", sid, "Session id (sid, as `sessions` lists it; one beginning with '-' goes after --)");
  auto* all_option = end_cmd->add_flag("--all", all_sessions, "Every session of the user");
  sid_option->excludes(all_option);
  add_user_store_options(end_cmd, choice);
  end_cmd->callback([&rc] {
    rc = run("revoke-session", [] { return revoke_session(choice, target, sid, all_sessions); });
  });
}

}  // namespace tessera::app
