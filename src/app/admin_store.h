// What the administration commands (`tessera client|key ...`) share: where the store is
// (--config FILE or --data-dir DIR), the instance key that seals secrets at rest, and the exit
// codes. Exit codes: 0 ok, 1 the operation failed, 2 bad input or usage.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "app/config.h"
#include "core/result.h"
#include "jose/jose.h"
#include "store/store.h"

namespace CLI {
class App;
}

namespace tessera::app {

constexpr int kExitFailed = 1;
constexpr int kExitBadInput = 2;

struct Failure {
  int code;
  std::string message;
};

// Where the store is, shared by every subcommand of one command.
struct StoreChoice {
  std::string config_file;
  std::string data_dir;
  std::string secret_key_file;
};

// --config/-c FILE, --data-dir DIR (mutually exclusive) and, when `with_secret_key`,
// --secret-key-file FILE.
void add_store_options(CLI::App* cmd, StoreChoice& choice, bool with_secret_key);

// The configuration's `store` section, or the demo's SQLite file DIR/tessera.db.
Result<std::unique_ptr<store::Store>, Failure> open_chosen_store(const StoreChoice& choice);

// The instance key: --secret-key-file, else the configuration's as.secret_key_file, else (with
// --data-dir) the demo's DIR/secret.key when it exists, else TESSERA_SECRET_KEY.
Result<std::string, Failure> load_chosen_secret_key(const StoreChoice& choice);

// The configuration's as.signing_alg; ES256 (the demo's) with --data-dir or no `as` section.
Result<jose::Alg, Failure> chosen_signing_alg(const StoreChoice& choice);

// A store error as a Failure: kInvalidArgument is bad input (2), the rest failures (1).
Failure store_failure(const store::StoreError& error);

// Runs `action` (returning Result<Ok, Failure>) for `tessera COMMAND SUBCOMMAND`, printing its
// failure on stderr as one line "tessera COMMAND SUBCOMMAND: reason"; returns the exit code.
template <class Action>
int run_admin(const char* command, const char* subcommand, Action action) {
  auto done = action();
  if (done) return 0;
  std::fprintf(stderr, "tessera %s %s: %s\n", command, subcommand, done.error().message.c_str());
  return done.error().code;
}

}  // namespace tessera::app
