// `tessera jose ...`: debugging and key tooling over src/jose.
//   keygen      print a fresh private JWK (random kid, alg set)
//   public      print the public half of a JWK or JWKS (never an HMAC secret)
//   thumbprint  print the RFC 7638 thumbprint of each key
//   sign        sign stdin as a compact JWS
//   verify      verify a compact JWS from stdin (DESIGN.md contract: exit 0 and
//               print the payload, or exit 1 with the reason on stderr)
//   decode      print header and payload WITHOUT verifying
// Exit codes: 0 ok, 1 verification failed, 2 bad input or usage (unreadable
// file, unusable key, unknown alg).
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "app/commands.h"
#include "core/crypto.h"
#include "core/json.h"
#include "jose/jose.h"

namespace tessera::app {
namespace {

constexpr int kExitVerifyFailed = 1;
constexpr int kExitBadInput = 2;
constexpr size_t kMaxKeyFileBytes = 1 << 20;
constexpr size_t kMaxStdinBytes = 16 << 20;

// A failure to report on stderr with an exit code; the callbacks below return
// it instead of throwing so every path prints one clear line.
struct Failure {
  int code;
  std::string message;
};

void report(const char* cmd, const Failure& f) {
  std::fprintf(stderr, "tessera jose %s: %s\n", cmd, f.message.c_str());
}

std::string status_text(jose::Status s) { return jose::to_string(s); }

std::string alg_list() {
  std::string out;
  for (jose::Alg a : jose::all_algs()) {
    if (!out.empty()) out += ", ";
    out += jose::to_string(a);
  }
  return out;
}

Result<jose::Alg, Failure> parse_alg(const std::string& name) {
  if (auto a = jose::alg_from_string(name)) return *a;
  return Err(Failure{kExitBadInput, "unsupported alg \"" + name + "\" (supported: " + alg_list() +
                                        "; \"none\" is never accepted)"});
}

Result<std::string, Failure> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Err(Failure{kExitBadInput, "cannot read " + path + ": " + std::strerror(errno)});
  }
  std::string data;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > kMaxKeyFileBytes) {
      return Err(Failure{kExitBadInput, path + ": larger than 1 MiB, not a key file"});
    }
  }
  if (in.bad()) return Err(Failure{kExitBadInput, "error reading " + path});
  return data;
}

Result<std::string, Failure> read_stdin() {
  std::string data;
  char buf[4096];
  while (std::cin.read(buf, sizeof buf) || std::cin.gcount() > 0) {
    data.append(buf, static_cast<size_t>(std::cin.gcount()));
    if (data.size() > kMaxStdinBytes) {
      return Err(Failure{kExitBadInput, "standard input larger than 16 MiB"});
    }
  }
  if (std::cin.bad()) return Err(Failure{kExitBadInput, "error reading standard input"});
  return data;
}

// A token piped from `echo` or a file ends with one newline; it is not part of
// the compact serialization.
std::string_view trim_one_newline(std::string_view s) {
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

bool looks_like_pem(std::string_view text) {
  return text.find("-----BEGIN ") != std::string_view::npos;
}

// Key files hold a JWK, a JWKS or PEM (private key, public key or certificate).
Result<jose::Jwks, Failure> load_keys(const std::string& path, std::optional<jose::Alg> alg) {
  auto text = read_file(path);
  if (!text) return Err(text.error());
  if (looks_like_pem(*text)) {
    auto key = jose::Jwk::from_pem(*text, alg);
    if (!key) {
      return Err(Failure{kExitBadInput, path + ": unusable PEM key: " + status_text(key.error())});
    }
    jose::Jwks set;
    set.add(std::move(key).value());
    return set;
  }
  auto keys = jose::Jwks::parse_key_or_set(*text);
  if (!keys) {
    return Err(
        Failure{kExitBadInput, path + ": not a usable JWK or JWKS: " + status_text(keys.error())});
  }
  if (keys->keys().empty()) return Err(Failure{kExitBadInput, path + ": the JWKS has no keys"});
  return std::move(keys).value();
}

std::string dump_line(const jose::Json& j) {
  return j.dump(-1, ' ', false, jose::Json::error_handler_t::replace);
}

// ---- keygen ----------------------------------------------------------------

struct KeygenArgs {
  std::string alg;
  std::string kid;
};

Result<Ok, Failure> run_keygen(const KeygenArgs& a) {
  auto alg = parse_alg(a.alg);
  if (!alg) return Err(alg.error());
  auto key = jose::Jwk::generate(*alg);
  if (!key) {
    return Err(Failure{kExitBadInput, "key generation failed: " + status_text(key.error())});
  }
  std::string kid = a.kid.empty() ? crypto::random_token(12) : a.kid;
  jose::Jwk out = key->with_alg(*alg).with_kid(std::move(kid));
  std::printf("%s\n", dump_line(out.to_json(/*include_private=*/true)).c_str());
  return Ok{};
}

// ---- public / thumbprint ----------------------------------------------------

// An HMAC (oct) key has no public half: its secret is the verification key, so
// `public` never prints it (and a set loses its oct keys, with a note).
Result<Ok, Failure> run_public(const std::string& key_file) {
  auto keys = load_keys(key_file, std::nullopt);
  if (!keys) return Err(keys.error());
  jose::Jwks pub;
  size_t skipped = 0;
  for (const jose::Jwk& k : keys->keys()) {
    if (k.kty() == jose::KeyType::kOct) {
      ++skipped;
      continue;
    }
    pub.add(k.public_key());
  }
  if (pub.keys().empty()) {
    return Err(Failure{kExitBadInput,
                       "an HMAC (oct) key is symmetric: it has no public half, and its secret "
                       "must not be published"});
  }
  if (skipped > 0) {
    std::fprintf(
        stderr,
        "tessera jose public: left out %zu HMAC (oct) key(s): a secret is never published\n",
        skipped);
  }
  const jose::Json out = keys->keys().size() == 1 ? pub.keys().front().to_json() : pub.to_json();
  std::printf("%s\n", dump_line(out).c_str());
  return Ok{};
}

Result<Ok, Failure> run_thumbprint(const std::string& key_file) {
  auto keys = load_keys(key_file, std::nullopt);
  if (!keys) return Err(keys.error());
  for (const jose::Jwk& k : keys->keys()) std::printf("%s\n", k.thumbprint().c_str());
  return Ok{};
}

// ---- sign ------------------------------------------------------------------

struct SignArgs {
  std::string key_file;
  std::string alg;
  std::string typ;
  std::string kid;
};

// The signing key: the only private key in the file, or the one named by kid.
Result<jose::Jwk, Failure> pick_signing_key(const jose::Jwks& keys, const std::string& kid) {
  const jose::Jwk* found = nullptr;
  for (const jose::Jwk& k : keys.keys()) {
    if (!k.is_private() || (!kid.empty() && k.kid() != kid)) continue;
    if (found != nullptr) {
      return Err(
          Failure{kExitBadInput, "the key file holds several private keys; pick one with --kid"});
    }
    found = &k;
  }
  if (found == nullptr) {
    return Err(Failure{kExitBadInput, kid.empty() ? "signing needs a private key: " +
                                                        status_text(jose::Status::kKeyNotPrivate)
                                                  : "no private key with kid \"" + kid + "\""});
  }
  return *found;
}

Result<Ok, Failure> run_sign(const SignArgs& a) {
  std::optional<jose::Alg> alg;
  if (!a.alg.empty()) {
    auto parsed = parse_alg(a.alg);
    if (!parsed) return Err(parsed.error());
    alg = *parsed;
  }
  auto keys = load_keys(a.key_file, alg);
  if (!keys) return Err(keys.error());
  auto key = pick_signing_key(*keys, a.kid);
  if (!key) return Err(key.error());
  if (!alg) alg = key->alg();
  if (!alg) {
    return Err(
        Failure{kExitBadInput, "the key has no \"alg\" member; pass --alg (" + alg_list() + ")"});
  }
  auto payload = read_stdin();
  if (!payload) return Err(payload.error());

  jose::SignOptions opts;
  if (!a.typ.empty()) opts.typ = a.typ;
  auto jws = jose::sign(*payload, *key, *alg, opts);
  if (!jws) return Err(Failure{kExitBadInput, "cannot sign: " + status_text(jws.error())});
  std::printf("%s\n", jws->c_str());
  return Ok{};
}

// ---- verify ----------------------------------------------------------------

struct VerifyArgs {
  std::string key_file;
  std::string alg;
};

Result<Ok, Failure> run_verify(const VerifyArgs& a) {
  jose::VerifyOptions opts;
  if (!a.alg.empty()) {
    auto parsed = parse_alg(a.alg);
    if (!parsed) return Err(parsed.error());
    opts.allowed_algs = {*parsed};  // --alg is the only algorithm accepted (RFC 8725 §3.1)
  }
  // The allow-list, not the key, enforces --alg: a key of another type is a
  // verification failure (exit 1), not a bad key file.
  auto keys = load_keys(a.key_file, std::nullopt);
  if (!keys) return Err(keys.error());
  auto input = read_stdin();
  if (!input) return Err(input.error());

  auto verified = jose::verify(trim_one_newline(*input), *keys, opts);
  if (!verified) return Err(Failure{kExitVerifyFailed, status_text(verified.error())});
  // The payload exactly as signed: `sign | verify` round-trips byte for byte.
  std::fwrite(verified->payload.data(), 1, verified->payload.size(), stdout);
  return Ok{};
}

// ---- decode ----------------------------------------------------------------

Result<Ok, Failure> run_decode() {
  auto input = read_stdin();
  if (!input) return Err(input.error());
  auto decoded = jose::decode_unverified(trim_one_newline(*input));
  if (!decoded) return Err(Failure{kExitBadInput, status_text(decoded.error())});

  jose::Json out = jose::Json::object();
  out["verified"] = false;
  out["warning"] = "UNVERIFIED: the signature was not checked; do not trust these contents";
  out["header"] = decoded->header;
  auto claims = json::parse_strict(decoded->payload);
  if (claims && claims->is_object()) {
    out["claims"] = *claims;
  } else {
    out["payload"] = decoded->payload;  // dumped with invalid UTF-8 replaced
  }
  std::printf("%s\n", out.dump(2, ' ', false, jose::Json::error_handler_t::replace).c_str());
  return Ok{};
}

// Runs one subcommand body: reports its failure, and turns any stray exception
// (allocation, JSON serialization) into an error exit instead of a crash.
template <class F>
void run(const char* name, int& rc, F&& body) {
  try {
    auto r = body();
    if (r) {
      rc = 0;
      return;
    }
    report(name, r.error());
    rc = r.error().code;
  } catch (const std::exception& e) {
    report(name, Failure{kExitBadInput, std::string("internal error: ") + e.what()});
    rc = kExitBadInput;
  }
  std::fflush(stdout);
}

}  // namespace

void add_jose_commands(CLI::App& app, int& rc) {
  auto* jose_cmd = app.add_subcommand("jose", "JOSE tooling: keys, JWS sign/verify, token decode");
  jose_cmd->require_subcommand(1);

  auto keygen = std::make_shared<KeygenArgs>();
  auto* kg = jose_cmd->add_subcommand("keygen", "Print a new private JWK (one line of JSON)");
  kg->add_option("--alg", keygen->alg, "Algorithm the key is for (" + alg_list() + ")")->required();
  kg->add_option("--kid", keygen->kid, "Key id (default: random)");
  kg->callback([&rc, keygen] { run("keygen", rc, [&] { return run_keygen(*keygen); }); });

  auto public_key_file = std::make_shared<std::string>();
  auto* pub = jose_cmd->add_subcommand("public", "Print the public JWK (or JWKS) of a key file");
  pub->add_option("--key", *public_key_file, "JWK, JWKS or PEM file")->required();
  pub->callback(
      [&rc, public_key_file] { run("public", rc, [&] { return run_public(*public_key_file); }); });

  auto thumb_key_file = std::make_shared<std::string>();
  auto* tp = jose_cmd->add_subcommand(
      "thumbprint", "Print the RFC 7638 SHA-256 thumbprint of each key, one per line");
  tp->add_option("--key", *thumb_key_file, "JWK, JWKS or PEM file")->required();
  tp->callback([&rc, thumb_key_file] {
    run("thumbprint", rc, [&] { return run_thumbprint(*thumb_key_file); });
  });

  auto sign = std::make_shared<SignArgs>();
  auto* sg = jose_cmd->add_subcommand(
      "sign", "Sign standard input (bytes as given) and print the compact JWS");
  sg->add_option("--key", sign->key_file, "Private JWK, JWKS or PEM file")->required();
  sg->add_option("--alg", sign->alg, "Algorithm (default: the key's \"alg\")");
  sg->add_option("--typ", sign->typ, "Header \"typ\", e.g. JWT or at+jwt");
  sg->add_option("--kid", sign->kid, "Pick the private key with this kid from a JWKS");
  sg->callback([&rc, sign] { run("sign", rc, [&] { return run_sign(*sign); }); });

  auto verify = std::make_shared<VerifyArgs>();
  auto* vf = jose_cmd->add_subcommand(
      "verify",
      "Verify a compact JWS from standard input: exit 0 and print the payload, or exit 1 with the "
      "reason on stderr");
  vf->add_option("--key", verify->key_file, "JWK (public or private), JWKS or PEM file")
      ->required();
  vf->add_option("--alg", verify->alg,
                 "The only algorithm to accept (default: any the key allows)");
  vf->callback([&rc, verify] { run("verify", rc, [&] { return run_verify(*verify); }); });

  auto* dc = jose_cmd->add_subcommand(
      "decode", "Print header and payload of a compact JWS WITHOUT verifying it");
  dc->callback([&rc] { run("decode", rc, [] { return run_decode(); }); });
}

}  // namespace tessera::app
