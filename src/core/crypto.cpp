#include "core/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "core/base64url.h"

namespace tessera::crypto {
namespace {
const EVP_MD* md_of(Digest d) {
  switch (d) {
    case Digest::kSha1:
      return EVP_sha1();
    case Digest::kSha256:
      return EVP_sha256();
    case Digest::kSha384:
      return EVP_sha384();
    case Digest::kSha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}
}  // namespace

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::fputs("fatal: RAND_bytes failed\n", stderr);
    std::abort();
  }
  return out;
}

std::string random_token(size_t bytes) { return base64url::encode(random_bytes(bytes)); }

std::string random_identifier(size_t bytes) {
  std::string id = random_token(bytes);
  while (!id.empty() && id.front() == '-') id = random_token(bytes);
  return id;
}

std::string digest(Digest d, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md_of(d), nullptr);
  return {reinterpret_cast<char*>(out), len};
}

std::string hmac(Digest d, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md_of(d), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return {reinterpret_cast<char*>(out), len};
}

namespace {
// One thread's HMAC-SHA256 context and the key it was set up with (cleansed when replaced or at
// thread exit).
class ReusedHmac {
 public:
  ReusedHmac() {
    if (EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr)) {
      ctx_ = EVP_MAC_CTX_new(mac);
      EVP_MAC_free(mac);
    }
  }
  ~ReusedHmac() {
    forget();
    EVP_MAC_CTX_free(ctx_);
  }
  ReusedHmac(const ReusedHmac&) = delete;
  ReusedHmac& operator=(const ReusedHmac&) = delete;

  std::optional<std::string> mac(std::string_view key, std::string_view data) {
    if (ctx_ == nullptr) return std::nullopt;
    bool ready = false;
    if (!key_.empty() && key_.size() == key.size() &&
        CRYPTO_memcmp(key_.data(), key.data(), key.size()) == 0) {
      ready = EVP_MAC_init(ctx_, nullptr, 0, nullptr) == 1;  // the same key: its schedule kept
    } else {
      forget();
      char digest[] = "SHA256";
      const OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
          OSSL_PARAM_construct_end()};
      ready = EVP_MAC_init(ctx_, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                           params) == 1;
      if (ready) key_.assign(key);
    }
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t len = 0;
    if (!ready ||
        EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
            1 ||
        EVP_MAC_final(ctx_, out, &len, sizeof out) != 1) {
      forget();
      return std::nullopt;
    }
    return std::string(reinterpret_cast<char*>(out), len);
  }

 private:
  void forget() {
    if (!key_.empty()) OPENSSL_cleanse(key_.data(), key_.size());
    key_.clear();
  }
  EVP_MAC_CTX* ctx_ = nullptr;
  std::string key_;
};
}  // namespace

std::string hmac_sha256_reused_key(std::string_view key, std::string_view data) {
  thread_local ReusedHmac reused;
  if (auto mac = reused.mac(key, data)) return std::move(*mac);
  return hmac(Digest::kSha256, key, data);  // the same answer, the slow way
}

bool equal_ct(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace tessera::crypto
