// RAII handles and cached algorithm fetches for OpenSSL 3 (STYLE.md: RAII for
// every OpenSSL handle). Internal to src/jose.
#pragma once

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <mutex>
#include <vector>

#include "jose/jose.h"

namespace tessera::jose::ossl {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;

inline void bn_clear_free(BIGNUM* b) { BN_clear_free(b); }
using SecretBnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, bn_clear_free>>;

// SHA-2 digests fetched once per process: an implicit fetch per call (EVP_sha256()
// inside EVP_DigestInit) costs a name lookup under a lock in OpenSSL 3.
const EVP_MD* sha256();
const EVP_MD* sha384();
const EVP_MD* sha512();

// Clears the thread's OpenSSL error queue after an expected failure (a bad
// signature pushes errors; left there they pile up per thread).
inline void drain_errors() { ERR_clear_error(); }

// A small free list of prepared contexts for one key and one operation, so the
// hot path neither fetches the signature algorithm nor re-initialises the
// context. A context is used by one thread at a time: take(), use, give().
template <class Ptr>
class ContextPool {
 public:
  Ptr take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) return nullptr;
    Ptr p = std::move(free_.back());
    free_.pop_back();
    return p;
  }
  void give(Ptr p) {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < kMaxIdle) free_.push_back(std::move(p));
  }

 private:
  static constexpr size_t kMaxIdle = 16;
  std::mutex mu_;
  std::vector<Ptr> free_;
};

}  // namespace tessera::jose::ossl
