#include "jose/signature.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include <array>
#include <cstring>

#include "core/crypto.h"
#include "jose/jwk_impl.h"

namespace tessera::jose {

namespace ossl {
namespace {
const EVP_MD* fetch_once(const char* name) {
  // Leaked on purpose: process-lifetime cache shared by all threads.
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  return md;
}
}  // namespace
const EVP_MD* sha256() {
  static const EVP_MD* md = fetch_once("SHA2-256");
  return md;
}
const EVP_MD* sha384() {
  static const EVP_MD* md = fetch_once("SHA2-384");
  return md;
}
const EVP_MD* sha512() {
  static const EVP_MD* md = fetch_once("SHA2-512");
  return md;
}
}  // namespace ossl

namespace internal {
namespace {

enum class Family { kHmac, kRsaPkcs1, kRsaPss, kEcdsa, kEdDsa };

Family family_of(Alg a) {
  switch (a) {
    case Alg::kHS256:
    case Alg::kHS384:
    case Alg::kHS512:
      return Family::kHmac;
    case Alg::kRS256:
    case Alg::kRS384:
    case Alg::kRS512:
      return Family::kRsaPkcs1;
    case Alg::kPS256:
    case Alg::kPS384:
    case Alg::kPS512:
      return Family::kRsaPss;
    case Alg::kES256:
    case Alg::kES384:
    case Alg::kES512:
      return Family::kEcdsa;
    case Alg::kEdDSA:
    case Alg::kEd25519:
      return Family::kEdDsa;
  }
  return Family::kEdDsa;
}

// The SHA-2 function each alg names (RFC 7518 §3.1); EdDSA hashes internally.
const EVP_MD* md_of(Alg a) {
  switch (a) {
    case Alg::kHS256:
    case Alg::kRS256:
    case Alg::kPS256:
    case Alg::kES256:
      return ossl::sha256();
    case Alg::kHS384:
    case Alg::kRS384:
    case Alg::kPS384:
    case Alg::kES384:
      return ossl::sha384();
    case Alg::kHS512:
    case Alg::kRS512:
    case Alg::kPS512:
    case Alg::kES512:
      return ossl::sha512();
    case Alg::kEdDSA:
    case Alg::kEd25519:
      return nullptr;
  }
  return nullptr;
}

crypto::Digest core_digest_of(Alg a) {
  switch (a) {
    case Alg::kHS384:
      return crypto::Digest::kSha384;
    case Alg::kHS512:
      return crypto::Digest::kSha512;
    default:
      return crypto::Digest::kSha256;
  }
}

size_t hash_len(Alg a) {
  const EVP_MD* md = md_of(a);
  return md ? static_cast<size_t>(EVP_MD_get_size(md)) : 0;
}

// Group order n, big-endian, left-padded to the P1363 half length, for the
// r, s in [1, n-1] check (RFC 7518 §3.4 fixes the length; SEC 1 §4.1.4 the range).
struct CurveOrder {
  size_t half = 0;
  std::array<unsigned char, 66> n{};
};

CurveOrder load_order(int nid, size_t half) {
  CurveOrder o;
  o.half = half;
  EC_GROUP* g = EC_GROUP_new_by_curve_name(nid);
  if (g != nullptr) {
    BN_bn2binpad(EC_GROUP_get0_order(g), o.n.data(), static_cast<int>(half));
    EC_GROUP_free(g);
  }
  return o;
}

const CurveOrder& order_of(Curve c) {
  static const CurveOrder p256 = load_order(NID_X9_62_prime256v1, 32);
  static const CurveOrder p384 = load_order(NID_secp384r1, 48);
  static const CurveOrder p521 = load_order(NID_secp521r1, 66);
  switch (c) {
    case Curve::kP384:
      return p384;
    case Curve::kP521:
      return p521;
    default:
      return p256;
  }
}

// 1 <= x <= n-1 for a big-endian x of exactly o.half bytes.
bool in_range(const unsigned char* x, const CurveOrder& o) {
  bool nonzero = false;
  for (size_t i = 0; i < o.half; ++i) nonzero |= x[i] != 0;
  return nonzero && std::memcmp(x, o.n.data(), o.half) < 0;
}

template <class Ptr>
class Lease {
 public:
  Lease(ossl::ContextPool<Ptr>& pool, Ptr p) : pool_(pool), p_(std::move(p)) {}
  ~Lease() {
    if (p_) pool_.give(std::move(p_));
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  auto* get() const { return p_.get(); }
  explicit operator bool() const { return p_ != nullptr; }
  void discard() { p_.reset(); }

 private:
  ossl::ContextPool<Ptr>& pool_;
  Ptr p_;
};

template <class Ptr, class Make>
Ptr take_or(ossl::ContextPool<Ptr>& pool, Make make) {
  Ptr p = pool.take();
  return p ? std::move(p) : make();
}

// A context ready for EVP_PKEY_sign/verify over a precomputed digest: padding,
// PSS salt (= hash length, RFC 7518 §3.5) and digest set once per context.
ossl::PkeyCtxPtr new_pkey_ctx(const KeyMaterial& m, Alg alg, bool sign) {
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, m.pkey.get(), nullptr));
  if (!ctx) return nullptr;
  if ((sign ? EVP_PKEY_sign_init(ctx.get()) : EVP_PKEY_verify_init(ctx.get())) != 1) return nullptr;
  const EVP_MD* md = md_of(alg);
  Family f = family_of(alg);
  if (f == Family::kRsaPkcs1 || f == Family::kRsaPss) {
    int pad = f == Family::kRsaPss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
    if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), pad) != 1) return nullptr;
  }
  if (EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1) return nullptr;
  if (f == Family::kRsaPss) {
    if (EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1) {
      return nullptr;
    }
  }
  return ctx;
}

ossl::MdCtxPtr new_ed_ctx(const KeyMaterial& m, bool sign) {
  ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return nullptr;
  int rc = sign ? EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, m.pkey.get(),
                                        nullptr)
                : EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr,
                                          m.pkey.get(), nullptr);
  if (rc != 1) return nullptr;
  return ctx;
}

bool digest(Alg alg, std::string_view in, unsigned char* out, size_t* out_len) {
  unsigned int len = 0;
  if (EVP_Digest(in.data(), in.size(), out, &len, md_of(alg), nullptr) != 1) return false;
  *out_len = len;
  return true;
}

void append_der_integer(std::string& out, const unsigned char* x, size_t n) {
  while (n > 1 && *x == 0) {
    ++x;
    --n;
  }
  bool pad = (*x & 0x80) != 0;
  out.push_back(0x02);
  out.push_back(static_cast<char>(n + (pad ? 1 : 0)));
  if (pad) out.push_back(0);
  out.append(reinterpret_cast<const char*>(x), n);
}

// Reads one DER INTEGER (positive, minimally encoded by OpenSSL) into `dst`
// of `half` bytes, left-padded.
bool read_der_integer(const unsigned char*& p, const unsigned char* end, size_t half,
                      unsigned char* dst) {
  if (end - p < 2 || p[0] != 0x02) return false;
  size_t len = p[1];
  p += 2;
  if (len == 0 || len > 0x7f || static_cast<size_t>(end - p) < len) return false;
  const unsigned char* v = p;
  p += len;
  if (v[0] & 0x80) return false;  // negative
  while (len > 0 && *v == 0) {
    ++v;
    --len;
  }
  if (len > half) return false;
  std::memset(dst, 0, half - len);
  std::memcpy(dst + (half - len), v, len);
  return true;
}

Status verify_hmac(const KeyMaterial& m, Alg alg, std::string_view input, std::string_view sig) {
  size_t hl = hash_len(alg);
  // RFC 7518 §3.2: the key must be at least as long as the hash output.
  if (m.secret.size() < hl) return Status::kKeyTooSmall;
  if (sig.size() != hl) return Status::kSignatureBadLength;
  std::string mac = crypto::hmac(core_digest_of(alg), m.secret, input);
  return crypto::equal_ct(mac, sig) ? Status::kOk : Status::kSignatureInvalid;
}

Status verify_pkey(const KeyMaterial& m, Alg alg, std::string_view input, std::string_view sig) {
  std::string der;
  const unsigned char* sig_ptr = reinterpret_cast<const unsigned char*>(sig.data());
  size_t sig_len = sig.size();
  if (family_of(alg) == Family::kEcdsa) {
    // RFC 7518 §3.4: exactly R || S, each the size of the group order.
    if (sig.size() != m.sig_bytes) return Status::kSignatureBadLength;
    const CurveOrder& o = order_of(m.crv);
    if (!in_range(sig_ptr, o) || !in_range(sig_ptr + o.half, o)) {
      return Status::kSignatureOutOfRange;
    }
    der = p1363_to_der(sig);
    sig_ptr = reinterpret_cast<const unsigned char*>(der.data());
    sig_len = der.size();
  } else if (sig.size() != m.sig_bytes) {
    // RFC 8017 §8.2.2 step 1: the signature is exactly k octets.
    return Status::kSignatureBadLength;
  }
  unsigned char dgst[EVP_MAX_MD_SIZE];
  size_t dgst_len = 0;
  if (!digest(alg, input, dgst, &dgst_len)) return Status::kInternal;

  auto& pool = m.verify_ctx[alg_index(alg)];
  Lease<ossl::PkeyCtxPtr> ctx(pool, take_or(pool, [&] { return new_pkey_ctx(m, alg, false); }));
  if (!ctx) {
    ossl::drain_errors();
    return Status::kInternal;
  }
  int rc = EVP_PKEY_verify(ctx.get(), sig_ptr, sig_len, dgst, dgst_len);
  if (rc == 1) return Status::kOk;
  ossl::drain_errors();
  return Status::kSignatureInvalid;
}

Status verify_eddsa(const KeyMaterial& m, std::string_view input, std::string_view sig) {
  if (sig.size() != 64) return Status::kSignatureBadLength;  // RFC 8032 §5.1.7
  auto& pool = m.ed_verify_ctx;
  Lease<ossl::MdCtxPtr> ctx(pool, take_or(pool, [&] { return new_ed_ctx(m, false); }));
  if (!ctx) {
    ossl::drain_errors();
    return Status::kInternal;
  }
  int rc =
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size());
  if (rc == 1) return Status::kOk;
  ossl::drain_errors();
  return Status::kSignatureInvalid;
}

}  // namespace

std::string p1363_to_der(std::string_view p1363) {
  size_t half = p1363.size() / 2;
  const auto* r = reinterpret_cast<const unsigned char*>(p1363.data());
  std::string body;
  body.reserve(2 * half + 6);
  append_der_integer(body, r, half);
  append_der_integer(body, r + half, half);
  std::string out;
  out.reserve(body.size() + 3);
  out.push_back(0x30);
  if (body.size() >= 0x80) out.push_back(static_cast<char>(0x81));  // P-521: X.690 §8.1.3.5
  out.push_back(static_cast<char>(body.size()));
  out += body;
  return out;
}

bool der_to_p1363(const unsigned char* der, size_t len, size_t half, std::string& out) {
  const unsigned char* p = der;
  const unsigned char* end = der + len;
  if (end - p < 2 || p[0] != 0x30) return false;
  size_t body = p[1];
  p += 2;
  if (body == 0x81) {
    if (end - p < 1) return false;
    body = *p++;
  } else if (body > 0x7f) {
    return false;
  }
  if (static_cast<size_t>(end - p) != body) return false;
  out.assign(2 * half, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  return read_der_integer(p, end, half, dst) && read_der_integer(p, end, half, dst + half) &&
         p == end;
}

Status verify_signature(const Jwk& key, Alg alg, std::string_view signing_input,
                        std::string_view sig) {
  // RFC 8725 §3.1: the key decides which algorithms it may be used with.
  if (!key.allows(alg)) return Status::kAlgKeyMismatch;
  const KeyMaterial& m = *key.impl().m;
  switch (family_of(alg)) {
    case Family::kHmac:
      return verify_hmac(m, alg, signing_input, sig);
    case Family::kEdDsa:
      return verify_eddsa(m, signing_input, sig);
    default:
      return verify_pkey(m, alg, signing_input, sig);
  }
}

Result<std::string, Status> create_signature(const Jwk& key, Alg alg,
                                             std::string_view signing_input) {
  if (!key.allows(alg)) return Err(Status::kAlgKeyMismatch);
  if (!key.is_private()) return Err(Status::kKeyNotPrivate);
  const KeyMaterial& m = *key.impl().m;
  Family f = family_of(alg);
  if (f == Family::kHmac) {
    if (m.secret.size() < hash_len(alg)) return Err(Status::kKeyTooSmall);
    return crypto::hmac(core_digest_of(alg), m.secret, signing_input);
  }
  if (f == Family::kEdDsa) {
    auto& pool = m.ed_sign_ctx;
    Lease<ossl::MdCtxPtr> ctx(pool, take_or(pool, [&] { return new_ed_ctx(m, true); }));
    std::string sig(64, '\0');
    size_t len = sig.size();
    if (!ctx || EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                               reinterpret_cast<const unsigned char*>(signing_input.data()),
                               signing_input.size()) != 1) {
      ctx.discard();
      ossl::drain_errors();
      return Err(Status::kInternal);
    }
    sig.resize(len);
    return sig;
  }
  unsigned char dgst[EVP_MAX_MD_SIZE];
  size_t dgst_len = 0;
  if (!digest(alg, signing_input, dgst, &dgst_len)) return Err(Status::kInternal);
  auto& pool = m.sign_ctx[alg_index(alg)];
  Lease<ossl::PkeyCtxPtr> ctx(pool, take_or(pool, [&] { return new_pkey_ctx(m, alg, true); }));
  if (!ctx) {
    ossl::drain_errors();
    return Err(Status::kInternal);
  }
  // ECDSA DER is at most 2 * (half + 3) + 3 bytes; RSA exactly k bytes.
  unsigned char buf[16 + 2 * 72 + 512 * 2];
  std::string rsa_out;
  unsigned char* out = buf;
  size_t out_len = sizeof(buf);
  if (f != Family::kEcdsa) {
    rsa_out.resize(m.sig_bytes);
    out = reinterpret_cast<unsigned char*>(rsa_out.data());
    out_len = rsa_out.size();
  }
  if (EVP_PKEY_sign(ctx.get(), out, &out_len, dgst, dgst_len) != 1) {
    ctx.discard();
    ossl::drain_errors();
    return Err(Status::kInternal);
  }
  if (f != Family::kEcdsa) {
    rsa_out.resize(out_len);
    return rsa_out;
  }
  std::string sig;
  if (!der_to_p1363(buf, out_len, m.sig_bytes / 2, sig)) return Err(Status::kInternal);
  return sig;
}

}  // namespace internal
}  // namespace tessera::jose
