// Shared fixtures for the jose unit tests: keys generated once per process
// (RSA generation is slow) and helpers to build hostile tokens by hand.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <mutex>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/base64url.h"
#include "jose/jose.h"
#include "jose/signature.h"

namespace tessera::jose {
// gtest prints Status by name in failure messages.
inline void PrintTo(Status s, std::ostream* os) { *os << to_string(s); }
}  // namespace tessera::jose

namespace tessera::jose::testing {

inline const Jwk& generated(Alg a) {
  // One key per alg family, generated lazily and kept for the whole run.
  static std::map<Alg, Jwk> keys;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto it = keys.find(a);
  if (it == keys.end()) {
    auto k = Jwk::generate(a);
    if (!k) throw std::runtime_error("key generation failed");
    // Drop the pinned alg so one RSA key serves RS* and PS* alike.
    Json j = k->to_json(true);
    j.erase("alg");
    auto unpinned = Jwk::from_json(j);
    if (!unpinned) throw std::runtime_error("re-import failed");
    it = keys.emplace(a, *unpinned).first;
  }
  return it->second;
}

inline const Jwk& rsa_key() { return generated(Alg::kRS256); }
inline const Jwk& p256_key() { return generated(Alg::kES256); }
inline const Jwk& p384_key() { return generated(Alg::kES384); }
inline const Jwk& p521_key() { return generated(Alg::kES512); }
inline const Jwk& ed_key() { return generated(Alg::kEdDSA); }

inline std::string b64(std::string_view s) { return base64url::encode(s); }

inline std::string hex_decode(std::string_view hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A compact JWS over an arbitrary (possibly hostile) header text, validly
// signed by `key`, so only the property under test can make it fail.
inline std::string signed_with_header(std::string_view header_json, std::string_view payload,
                                      const Jwk& key, Alg alg) {
  std::string input = b64(header_json) + "." + b64(payload);
  auto sig = internal::create_signature(key, alg, input);
  if (!sig) throw std::runtime_error("signing failed");
  return input + "." + b64(*sig);
}

inline Status verify_status(std::string_view compact, const Jwk& key,
                            const VerifyOptions& opts = {}) {
  auto r = verify(compact, key, opts);
  return r ? Status::kOk : r.error();
}

inline VerifyOptions only(Alg a) {
  VerifyOptions o;
  o.allowed_algs = {a};
  return o;
}

}  // namespace tessera::jose::testing
