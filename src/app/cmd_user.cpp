// `tessera user ...`: administration of the people who log in (issue 3, Administration).
//   create USERNAME [--password-stdin] [--email E] [--name N] [--totp] [--json]
//   list [--json]
//   set-password USERNAME --password-stdin
//   disable|enable USERNAME
// Each works on the store named by --config FILE (its `store` section, as `serve` opens it) or
// --data-dir DIR (the demo's SQLite file DIR/tessera.db). TOTP seeds are sealed with the instance
// key (TESSERA_SECRET_KEY or --secret-key-file).
// Exit codes: 0 ok, 1 the operation failed (unknown user, name taken, store error), 2 bad input
// or usage (unreadable configuration or key, unacceptable username or password).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "app/commands.h"
#include "app/config.h"
#include "app/store_config.h"
#include "core/aead.h"
#include "core/crypto.h"
#include "core/json.h"
#include "identity/authenticator.h"
#include "identity/base32.h"
#include "identity/password_hash.h"
#include "identity/totp.h"
#include "store/store.h"

namespace tessera::app {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitBadInput = 2;
constexpr std::string_view kTotpIssuer = "Tessera";

struct Failure {
  int code;
  std::string message;
};

// Where the store is, shared by every user subcommand.
struct StoreChoice {
  std::string config_file;
  std::string data_dir;
  std::string secret_key_file;
};

Result<std::unique_ptr<store::Store>, Failure> open_chosen_store(const StoreChoice& choice) {
  store::StoreConfig config;
  if (!choice.config_file.empty()) {
    auto loaded = load_config(choice.config_file);
    if (!loaded) return Err(Failure{kExitBadInput, "configuration error: " + loaded.error()});
    config = store_config(loaded->store);
  } else if (!choice.data_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(choice.data_dir, ec)) {
      return Err(Failure{kExitBadInput, "no such data directory: " + choice.data_dir});
    }
    config.sqlite_path = choice.data_dir + "/tessera.db";
  } else {
    return Err(Failure{kExitBadInput, "name the store with --config FILE or --data-dir DIR"});
  }
  config.pool_size = 1;
  auto opened = store::open_store(config);
  if (!opened) return Err(Failure{kExitFailed, "store unavailable: " + opened.error().message});
  return std::move(*opened);
}

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

int exit_code_of(const store::StoreError& error) {
  return error.code == store::StoreError::Code::kInvalidArgument ? kExitBadInput : kExitFailed;
}

Result<store::User, Failure> find_user(store::Store& store, const std::string& username) {
  auto found = store.users().find_by_username(username);
  if (!found) return Err(Failure{kExitFailed, found.error().message});
  if (!*found) return Err(Failure{kExitFailed, "no such user: " + username});
  return std::move(**found);
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
  if (!created) return Err(Failure{exit_code_of(created.error()), created.error().message});

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
  auto store = open_chosen_store(choice);
  if (!store) return Err(store.error());
  auto user = find_user(**store, username);
  if (!user) return Err(user.error());
  auto stored = (*store)->users().set_password_hash(user->id, *hashed);
  if (!stored) return Err(Failure{exit_code_of(stored.error()), stored.error().message});
  std::printf("password of %s changed\n", user->username.c_str());
  return Ok{};
}

Result<Ok, Failure> set_disabled(const StoreChoice& choice, const std::string& username,
                                 bool disabled) {
  auto store = open_chosen_store(choice);
  if (!store) return Err(store.error());
  auto user = find_user(**store, username);
  if (!user) return Err(user.error());
  auto stored = (*store)->users().set_disabled(user->id, disabled);
  if (!stored) return Err(Failure{exit_code_of(stored.error()), stored.error().message});
  std::printf("%s %s\n", user->username.c_str(), disabled ? "disabled" : "enabled");
  return Ok{};
}

void add_store_options(CLI::App* cmd, StoreChoice& choice) {
  auto* config = cmd->add_option("--config,-c", choice.config_file, "YAML configuration file");
  auto* data_dir =
      cmd->add_option("--data-dir", choice.data_dir, "Data directory of `tessera demo`");
  config->excludes(data_dir);
  cmd->add_option("--secret-key-file", choice.secret_key_file,
                  "Instance key (base64url, 32 bytes); default: $TESSERA_SECRET_KEY");
}

// Runs `action`, printing its failure on stderr; returns the exit code.
template <class Action>
int run(const char* name, Action action) {
  auto done = action();
  if (done) return 0;
  std::fprintf(stderr, "tessera user %s: %s\n", name, done.error().message.c_str());
  return done.error().code;
}

}  // namespace

void add_user_commands(CLI::App& app, int& rc) {
  auto* user = app.add_subcommand("user", "Administer users: create, list, set passwords");
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
  add_store_options(create_cmd, choice);
  create_cmd->callback([&rc] { rc = run("create", [] { return create_user(choice, create); }); });

  static bool list_json = false;
  auto* list_cmd = user->add_subcommand("list", "List users");
  list_cmd->add_flag("--json", list_json, "Print a JSON array");
  add_store_options(list_cmd, choice);
  list_cmd->callback([&rc] { rc = run("list", [] { return list_users(choice, list_json); }); });

  static std::string target;
  static bool password_stdin = false;
  auto* password_cmd = user->add_subcommand("set-password", "Set a user's password");
  password_cmd->add_option("username", target, "Username")->required();
  password_cmd->add_flag("--password-stdin", password_stdin, "Read the password from stdin");
  add_store_options(password_cmd, choice);
  password_cmd->callback([&rc] {
    rc = run("set-password", [] { return set_password(choice, target, password_stdin); });
  });

  for (const bool disabled : {true, false}) {
    auto* cmd = user->add_subcommand(disabled ? "disable" : "enable",
                                     disabled ? "Disable a user (logins fail)" : "Enable a user");
    cmd->add_option("username", target, "Username")->required();
    add_store_options(cmd, choice);
    cmd->callback([&rc, disabled] {
      rc = run(disabled ? "disable" : "enable",
               [disabled] { return set_disabled(choice, target, disabled); });
    });
  }
}

}  // namespace tessera::app
