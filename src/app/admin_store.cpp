#include "app/admin_store.h"

#include <CLI/CLI.hpp>
#include <filesystem>

#include "app/store_config.h"
#include "core/aead.h"

namespace tessera::app {

void add_store_options(CLI::App* cmd, StoreChoice& choice, bool with_secret_key) {
  auto* config = cmd->add_option("--config,-c", choice.config_file, "YAML configuration file");
  auto* data_dir =
      cmd->add_option("--data-dir", choice.data_dir, "Data directory of `tessera demo`");
  config->excludes(data_dir);
  if (with_secret_key) {
    cmd->add_option("--secret-key-file", choice.secret_key_file,
                    "Instance key (base64url, 32 bytes); default: the configuration's "
                    "as.secret_key_file, DIR/secret.key, or $TESSERA_SECRET_KEY");
  }
}

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

Result<std::string, Failure> load_chosen_secret_key(const StoreChoice& choice) {
  std::string file = choice.secret_key_file;
  if (file.empty() && !choice.config_file.empty()) {
    auto loaded = load_config(choice.config_file);
    if (!loaded) return Err(Failure{kExitBadInput, "configuration error: " + loaded.error()});
    if (loaded->as) file = loaded->as->secret_key_file;
  }
  if (file.empty() && !choice.data_dir.empty()) {
    std::error_code ec;
    const std::string demo_key = choice.data_dir + "/secret.key";
    if (std::filesystem::exists(demo_key, ec)) file = demo_key;
  }
  auto key = aead::load_key(file);
  if (!key) return Err(Failure{kExitBadInput, key.error()});
  return std::move(*key);
}

Result<jose::Alg, Failure> chosen_signing_alg(const StoreChoice& choice) {
  std::string name = AsConfig{}.signing_alg;
  if (!choice.config_file.empty()) {
    auto loaded = load_config(choice.config_file);
    if (!loaded) return Err(Failure{kExitBadInput, "configuration error: " + loaded.error()});
    if (loaded->as) name = loaded->as->signing_alg;
  }
  auto alg = jose::alg_from_string(name);
  if (!alg) return Err(Failure{kExitBadInput, "unknown signing_alg " + name});
  return *alg;
}

Failure store_failure(const store::StoreError& error) {
  return Failure{
      error.code == store::StoreError::Code::kInvalidArgument ? kExitBadInput : kExitFailed,
      error.message};
}

}  // namespace tessera::app
