// JWK (RFC 7517) and JWKS import/export for RSA (RFC 7518 §6.3), EC (§6.2),
// OKP Ed25519 (RFC 8037 §2) and oct (§6.4); thumbprints (RFC 7638); PEM.
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstring>

#include "core/base64url.h"
#include "core/crypto.h"
#include "jose/jose.h"
#include "jose/jwk_impl.h"
#include "jose/jws_internal.h"

namespace tessera::jose {

KeyMaterial::~KeyMaterial() {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
}

namespace {

constexpr int kMinRsaBits = 2048;   // RFC 7518 §3.3
constexpr int kMaxRsaBits = 16384;  // verify cost grows with n: refuse absurd keys
constexpr size_t kMaxRsaExponentBytes = 8;

using ossl::BnPtr;
using ossl::PkeyPtr;

struct CurveSpec {
  Curve crv;
  const char* jwk_name;   // RFC 7518 §6.2.1.1
  const char* ossl_name;  // OpenSSL group name
  size_t half;            // field element bytes
  int bits;
};

constexpr CurveSpec kCurves[] = {
    {Curve::kP256, "P-256", "prime256v1", 32, 256},
    {Curve::kP384, "P-384", "secp384r1", 48, 384},
    {Curve::kP521, "P-521", "secp521r1", 66, 521},
};

const CurveSpec* curve_by_jwk_name(std::string_view n) {
  for (const auto& c : kCurves) {
    if (n == c.jwk_name) return &c;
  }
  return nullptr;
}
const CurveSpec* curve_by_ossl_name(std::string_view n) {
  for (const auto& c : kCurves) {
    if (n == c.ossl_name) return &c;
  }
  return nullptr;
}
const CurveSpec* curve_spec(Curve crv) {
  for (const auto& c : kCurves) {
    if (c.crv == crv) return &c;
  }
  return nullptr;
}

// The JSON text of a key or key set, strictly parsed (core/json.h); input over
// the size cap is kTooLarge, anything else unusable is kKeyInvalid.
Result<Json, Status> parse_key_json(std::string_view text) {
  auto j = json::parse_strict(text);
  if (j) return std::move(*j);
  if (j.error() == json::ParseError::kTooLarge) return Err(Status::kTooLarge);
  return Err(internal::json_error_status(j.error(), Status::kKeyInvalid));
}

// Returns the decoded member, nullopt when absent; kKeyInvalid when present but
// not a strict base64url string.
Result<std::optional<std::string>, Status> b64_member(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return std::optional<std::string>();
  if (!it->is_string()) return Err(Status::kKeyInvalid);
  auto dec = base64url::decode(it->get_ref<const std::string&>());
  if (!dec) return Err(Status::kKeyInvalid);
  return std::optional<std::string>(std::move(*dec));
}

Result<std::string, Status> required_b64(const Json& j, const char* name) {
  auto r = b64_member(j, name);
  if (!r) return Err(r.error());
  if (!r->has_value() || (*r)->empty()) return Err(Status::kKeyInvalid);
  return std::move(**r);
}

BnPtr to_bn(std::string_view bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr));
}

std::string bn_bytes(const BIGNUM* bn) {
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string bn_bytes_padded(const BIGNUM* bn, size_t len) {
  std::string out(len, '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(len));
  return out;
}

std::string get_bn_b64(const EVP_PKEY* pkey, const char* param, size_t pad = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, param, &raw) != 1) return {};
  ossl::SecretBnPtr bn(raw);
  std::string bytes = pad ? bn_bytes_padded(bn.get(), pad) : bn_bytes(bn.get());
  std::string out = base64url::encode(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return out;
}

// Builds an EVP_PKEY from provider parameters (OpenSSL 3 EVP_PKEY_fromdata).
PkeyPtr pkey_fromdata(const char* type, OSSL_PARAM_BLD* bld, bool is_private) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  if (params == nullptr) return nullptr;
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1) {
    EVP_PKEY_fromdata(ctx.get(), &raw, is_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params);
  }
  OSSL_PARAM_free(params);
  return PkeyPtr(raw);
}

struct ParamBuilder {
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  std::vector<ossl::SecretBnPtr> bns;  // must outlive OSSL_PARAM_BLD_to_param
  ~ParamBuilder() { OSSL_PARAM_BLD_free(bld); }
  bool push_bn(const char* key, std::string_view bytes) {
    ossl::SecretBnPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                                   static_cast<int>(bytes.size()), nullptr));
    if (!bn) return false;
    bool ok = OSSL_PARAM_BLD_push_BN(bld, key, bn.get()) == 1;
    bns.push_back(std::move(bn));
    return ok;
  }
};

// Validates an OpenSSL key and wraps it: supported type and curve, RSA size,
// EC point on the curve, private parts consistent with the public ones.
Result<std::shared_ptr<KeyMaterial>, Status> material_from_pkey(PkeyPtr pkey, bool is_private) {
  if (!pkey) return Err(Status::kKeyInvalid);
  auto m = std::make_shared<KeyMaterial>();
  m->is_private = is_private;
  int id = EVP_PKEY_get_base_id(pkey.get());
  if (id == EVP_PKEY_RSA) {
    m->kty = KeyType::kRSA;
    m->bits = EVP_PKEY_get_bits(pkey.get());
    if (m->bits < kMinRsaBits) return Err(Status::kKeyTooSmall);
    if (m->bits > kMaxRsaBits) return Err(Status::kKeyUnsupported);
    m->sig_bytes = static_cast<size_t>(EVP_PKEY_get_size(pkey.get()));
    BIGNUM* e_raw = nullptr;
    BIGNUM* n_raw = nullptr;
    EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_E, &e_raw);
    EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_N, &n_raw);
    BnPtr e(e_raw), n(n_raw);
    if (!e || !n || !BN_is_odd(n.get()) || !BN_is_odd(e.get()) || BN_is_one(e.get()) ||
        static_cast<size_t>(BN_num_bytes(e.get())) > kMaxRsaExponentBytes) {
      return Err(Status::kKeyInvalid);
    }
  } else if (id == EVP_PKEY_EC) {
    m->kty = KeyType::kEC;
    char name[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                       &len) != 1) {
      // Explicit curve parameters (no named group) are refused outright.
      ossl::drain_errors();
      return Err(Status::kKeyUnsupported);
    }
    const CurveSpec* spec = curve_by_ossl_name(std::string_view(name, len));
    if (spec == nullptr) return Err(Status::kKeyUnsupported);
    m->crv = spec->crv;
    m->bits = spec->bits;
    m->sig_bytes = 2 * spec->half;  // RFC 7518 §3.4
  } else if (id == EVP_PKEY_ED25519) {
    m->kty = KeyType::kOKP;
    m->crv = Curve::kEd25519;
    m->bits = 256;
    m->sig_bytes = 64;
  } else {
    return Err(Status::kKeyUnsupported);
  }
  if (m->kty == KeyType::kEC) {
    // SP 800-56A §5.6.2.3.3: the point is on the curve and not infinity.
    ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    bool ok = ctx && EVP_PKEY_public_check(ctx.get()) == 1 &&
              (!is_private || EVP_PKEY_pairwise_check(ctx.get()) == 1);
    if (!ok) {
      ossl::drain_errors();
      return Err(Status::kKeyInvalid);
    }
  }
  m->pkey = std::move(pkey);
  return m;
}

Jwk make_jwk(std::shared_ptr<const KeyMaterial> m, std::string kid = {},
             std::optional<Alg> alg = {}, std::optional<std::string> use = {}) {
  auto impl = std::make_shared<Jwk::Impl>();
  impl->m = std::move(m);
  impl->kid = std::move(kid);
  impl->alg = alg;
  impl->use = std::move(use);
  return Jwk(std::move(impl));
}

Result<std::shared_ptr<KeyMaterial>, Status> rsa_from_json(const Json& j) {
  auto n = required_b64(j, "n");
  auto e = required_b64(j, "e");
  if (!n || !e) return Err(Status::kKeyInvalid);
  if (j.contains("oth")) return Err(Status::kKeyUnsupported);  // multi-prime, RFC 7518 §6.3.2.7
  auto d = b64_member(j, "d");
  if (!d) return Err(d.error());
  bool is_private = d->has_value();
  // Reject a too-small modulus before handing it to OpenSSL.
  BnPtr nbn = to_bn(*n);
  if (!nbn) return Err(Status::kInternal);
  if (BN_num_bits(nbn.get()) < kMinRsaBits) return Err(Status::kKeyTooSmall);

  ParamBuilder pb;
  if (pb.bld == nullptr) return Err(Status::kInternal);
  if (!pb.push_bn(OSSL_PKEY_PARAM_RSA_N, *n) || !pb.push_bn(OSSL_PKEY_PARAM_RSA_E, *e)) {
    return Err(Status::kInternal);
  }
  if (is_private) {
    if ((*d)->empty() || !pb.push_bn(OSSL_PKEY_PARAM_RSA_D, **d)) return Err(Status::kKeyInvalid);
    // RFC 7518 §6.3.2: the CRT members come together or not at all.
    static constexpr std::pair<const char*, const char*> kCrt[] = {
        {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},       {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
        {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},    {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
        {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
    };
    int present = 0;
    for (const auto& [name, param] : kCrt) present += j.contains(name) ? 1 : 0;
    if (present != 0 && present != 5) return Err(Status::kKeyInvalid);
    if (present == 5) {
      for (const auto& [name, param] : kCrt) {
        auto v = required_b64(j, name);
        if (!v) return Err(Status::kKeyInvalid);
        bool ok = pb.push_bn(param, *v);
        OPENSSL_cleanse(v->data(), v->size());
        if (!ok) return Err(Status::kInternal);
      }
    }
    OPENSSL_cleanse((*d)->data(), (*d)->size());
  }
  PkeyPtr pkey = pkey_fromdata("RSA", pb.bld, is_private);
  if (!pkey) {
    ossl::drain_errors();
    return Err(Status::kKeyInvalid);
  }
  if (is_private) {
    // d must belong to (n, e): a mismatched private key would sign garbage.
    ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    if (!ctx || EVP_PKEY_pairwise_check(ctx.get()) != 1) {
      ossl::drain_errors();
      return Err(Status::kKeyInvalid);
    }
  }
  return material_from_pkey(std::move(pkey), is_private);
}

Result<std::shared_ptr<KeyMaterial>, Status> ec_from_json(const Json& j) {
  auto crv = j.find("crv");
  if (crv == j.end() || !crv->is_string()) return Err(Status::kKeyInvalid);
  const CurveSpec* spec = curve_by_jwk_name(crv->get_ref<const std::string&>());
  if (spec == nullptr) return Err(Status::kKeyUnsupported);
  auto x = required_b64(j, "x");
  auto y = required_b64(j, "y");
  // RFC 7518 §6.2.1.2-3: coordinates are the full field size, no more, no less.
  if (!x || !y || x->size() != spec->half || y->size() != spec->half) {
    return Err(Status::kKeyInvalid);
  }
  auto d = b64_member(j, "d");
  if (!d) return Err(d.error());
  bool is_private = d->has_value();
  if (is_private && (*d)->size() != spec->half) return Err(Status::kKeyInvalid);  // §6.2.2.1

  std::string point;
  point.reserve(1 + 2 * spec->half);
  point.push_back(0x04);  // SEC 1 §2.3.3 uncompressed
  point += *x;
  point += *y;
  ParamBuilder pb;
  if (pb.bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(pb.bld, OSSL_PKEY_PARAM_GROUP_NAME, spec->ossl_name, 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(pb.bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Err(Status::kInternal);
  }
  if (is_private) {
    std::string& secret = **d;
    bool ok = pb.push_bn(OSSL_PKEY_PARAM_PRIV_KEY, secret);
    OPENSSL_cleanse(secret.data(), secret.size());
    if (!ok) return Err(Status::kInternal);
  }
  PkeyPtr pkey = pkey_fromdata("EC", pb.bld, is_private);
  if (!pkey) {
    ossl::drain_errors();
    return Err(Status::kKeyInvalid);  // typically: point not on the curve
  }
  return material_from_pkey(std::move(pkey), is_private);
}

Result<std::shared_ptr<KeyMaterial>, Status> okp_from_json(const Json& j) {
  auto crv = j.find("crv");
  if (crv == j.end() || !crv->is_string()) return Err(Status::kKeyInvalid);
  if (crv->get_ref<const std::string&>() != "Ed25519") return Err(Status::kKeyUnsupported);
  auto x = required_b64(j, "x");
  if (!x || x->size() != 32) return Err(Status::kKeyInvalid);  // RFC 8032 §5.1.5
  auto d = b64_member(j, "d");
  if (!d) return Err(d.error());
  EVP_PKEY* raw = nullptr;
  bool is_private = d->has_value();
  if (is_private) {
    std::string& secret = **d;
    if (secret.size() != 32) return Err(Status::kKeyInvalid);
    raw = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                       reinterpret_cast<const unsigned char*>(secret.data()), 32);
    OPENSSL_cleanse(secret.data(), secret.size());
  } else {
    raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                      reinterpret_cast<const unsigned char*>(x->data()), 32);
  }
  PkeyPtr pkey(raw);
  if (!pkey) {
    ossl::drain_errors();
    return Err(Status::kKeyInvalid);
  }
  if (is_private) {
    // RFC 8037 §2: x is derived from d; they must agree.
    unsigned char pub[32];
    size_t len = sizeof(pub);
    if (EVP_PKEY_get_raw_public_key(pkey.get(), pub, &len) != 1 || len != 32 ||
        std::memcmp(pub, x->data(), 32) != 0) {
      return Err(Status::kKeyInvalid);
    }
  }
  return material_from_pkey(std::move(pkey), is_private);
}

Result<std::shared_ptr<KeyMaterial>, Status> oct_from_json(const Json& j) {
  auto k = b64_member(j, "k");
  if (!k) return Err(k.error());
  if (!k->has_value() || (*k)->empty()) return Err(Status::kKeyInvalid);
  auto m = std::make_shared<KeyMaterial>();
  m->kty = KeyType::kOct;
  m->is_private = true;
  m->secret = std::move(**k);
  m->bits = static_cast<int>(m->secret.size() * 8);
  return m;
}

bool kty_allows(const KeyMaterial& m, Alg a) {
  switch (a) {
    case Alg::kHS256:
    case Alg::kHS384:
    case Alg::kHS512:
      return m.kty == KeyType::kOct;
    case Alg::kRS256:
    case Alg::kRS384:
    case Alg::kRS512:
    case Alg::kPS256:
    case Alg::kPS384:
    case Alg::kPS512:
      return m.kty == KeyType::kRSA;
    case Alg::kES256:
      return m.kty == KeyType::kEC && m.crv == Curve::kP256;
    case Alg::kES384:
      return m.kty == KeyType::kEC && m.crv == Curve::kP384;
    case Alg::kES512:
      return m.kty == KeyType::kEC && m.crv == Curve::kP521;
    case Alg::kEdDSA:
    case Alg::kEd25519:
      return m.kty == KeyType::kOKP && m.crv == Curve::kEd25519;
  }
  return false;
}

int no_passphrase(char*, int, int, void*) { return 0; }  // never prompt on a terminal

}  // namespace

Result<Jwk, Status> Jwk::from_json(const Json& j) {
  try {
    if (!j.is_object()) return Err(Status::kKeyInvalid);
    auto kty = j.find("kty");
    if (kty == j.end() || !kty->is_string()) return Err(Status::kKeyInvalid);
    const std::string& t = kty->get_ref<const std::string&>();

    std::string kid;
    if (auto it = j.find("kid"); it != j.end()) {
      if (!it->is_string()) return Err(Status::kKeyInvalid);
      kid = it->get_ref<const std::string&>();
    }
    std::optional<Alg> alg;
    if (auto it = j.find("alg"); it != j.end()) {
      if (!it->is_string()) return Err(Status::kKeyInvalid);
      const std::string& s = it->get_ref<const std::string&>();
      if (s == "none") return Err(Status::kAlgNone);
      alg = alg_from_string(s);
      if (!alg) return Err(Status::kAlgUnknown);  // e.g. an encryption key's alg
    }
    std::optional<std::string> use;
    if (auto it = j.find("use"); it != j.end()) {
      if (!it->is_string()) return Err(Status::kKeyInvalid);
      use = it->get_ref<const std::string&>();
    }
    if (auto it = j.find("key_ops"); it != j.end()) {
      if (!it->is_array()) return Err(Status::kKeyInvalid);
      for (const auto& op : *it) {
        if (!op.is_string()) return Err(Status::kKeyInvalid);
      }
    }

    Result<std::shared_ptr<KeyMaterial>, Status> m = Err(Status::kKeyUnsupported);
    if (t == "RSA") {
      m = rsa_from_json(j);
    } else if (t == "EC") {
      m = ec_from_json(j);
    } else if (t == "OKP") {
      m = okp_from_json(j);
    } else if (t == "oct") {
      m = oct_from_json(j);
    }
    if (!m) return Err(m.error());
    // A JWK whose own alg contradicts its key type is unusable (RFC 8725 §3.1).
    if (alg && !kty_allows(**m, *alg)) return Err(Status::kAlgKeyMismatch);
    // RFC 7517 §4.7: an array of base64 (not base64url) DER certificates, the key's own first.
    // A malformed x5c leaves the key without a certificate rather than poisoning its set: the key
    // itself is what a signature is checked with, and whoever needs the certificate (a
    // self-signed mTLS client's registration) checks for it.
    if (auto it = j.find("x5c");
        it != j.end() && it->is_array() && !it->empty() && (*it)[0].is_string()) {
      if (auto der = base64::decode((*it)[0].get_ref<const std::string&>())) {
        (*m)->certificate_der = std::move(*der);
      }
    }
    return make_jwk(std::move(*m), std::move(kid), alg, std::move(use));
  } catch (const std::exception&) {
    return Err(Status::kKeyInvalid);
  }
}

Result<Jwk, Status> Jwk::parse(std::string_view text) {
  auto j = parse_key_json(text);
  if (!j) return Err(j.error());
  return from_json(*j);
}

Result<Jwk, Status> Jwk::from_pem(std::string_view pem, std::optional<Alg> alg) {
  if (pem.size() > (1 << 20)) return Err(Status::kTooLarge);
  ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Err(Status::kInternal);
  PkeyPtr pkey;
  bool is_private = false;
  if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
    // The certificate is not validated (no chain, no dates): only its key is used.
    ossl::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
    if (cert) pkey.reset(X509_get_pubkey(cert.get()));
  } else if (pem.find("-----BEGIN PUBLIC KEY-----") != std::string_view::npos) {
    pkey.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));  // SPKI
  } else if (pem.find("PRIVATE KEY-----") != std::string_view::npos) {
    // PKCS#8 or traditional (RSA/EC PRIVATE KEY); encrypted keys fail without prompting.
    pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    is_private = true;
  }
  if (!pkey) {
    ossl::drain_errors();
    return Err(Status::kPemInvalid);
  }
  if (is_private && EVP_PKEY_get_base_id(pkey.get()) == EVP_PKEY_RSA) {
    ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    if (!ctx || EVP_PKEY_pairwise_check(ctx.get()) != 1) {
      ossl::drain_errors();
      return Err(Status::kKeyInvalid);
    }
  }
  auto m = material_from_pkey(std::move(pkey), is_private);
  if (!m) return Err(m.error());
  if (alg && !kty_allows(**m, *alg)) return Err(Status::kAlgKeyMismatch);
  return make_jwk(std::move(*m), {}, alg);
}

Result<Jwk, Status> Jwk::generate(Alg alg) {
  PkeyPtr pkey;
  switch (alg) {
    case Alg::kHS256:
    case Alg::kHS384:
    case Alg::kHS512: {
      size_t len = alg == Alg::kHS256 ? 32 : alg == Alg::kHS384 ? 48 : 64;  // RFC 7518 §3.2
      Jwk k = from_secret(crypto::random_bytes(len), alg);
      return k.with_kid(k.thumbprint());
    }
    case Alg::kRS256:
    case Alg::kRS384:
    case Alg::kRS512:
    case Alg::kPS256:
    case Alg::kPS384:
    case Alg::kPS512:
      pkey.reset(EVP_RSA_gen(2048));
      break;
    case Alg::kES256:
      pkey.reset(EVP_EC_gen("P-256"));
      break;
    case Alg::kES384:
      pkey.reset(EVP_EC_gen("P-384"));
      break;
    case Alg::kES512:
      pkey.reset(EVP_EC_gen("P-521"));
      break;
    case Alg::kEdDSA:
    case Alg::kEd25519:
      pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
      break;
  }
  if (!pkey) {
    ossl::drain_errors();
    return Err(Status::kInternal);
  }
  auto m = material_from_pkey(std::move(pkey), true);
  if (!m) return Err(m.error());
  Jwk k = make_jwk(std::move(*m), {}, alg);
  return k.with_kid(k.thumbprint());
}

Jwk Jwk::from_secret(std::string_view secret, std::optional<Alg> alg) {
  auto m = std::make_shared<KeyMaterial>();
  m->kty = KeyType::kOct;
  m->is_private = true;
  m->secret.assign(secret.data(), secret.size());
  m->bits = static_cast<int>(secret.size() * 8);
  // An alg that is not an HMAC alg makes the key unusable rather than wrong.
  return make_jwk(std::move(m), {}, alg);
}

Json Jwk::to_json(bool include_private) const {
  const KeyMaterial& m = *impl_->m;
  Json j = Json::object();
  const EVP_PKEY* pk = m.pkey.get();
  bool priv = include_private && m.is_private;
  switch (m.kty) {
    case KeyType::kRSA:
      j["kty"] = "RSA";
      j["n"] = get_bn_b64(pk, OSSL_PKEY_PARAM_RSA_N);
      j["e"] = get_bn_b64(pk, OSSL_PKEY_PARAM_RSA_E);
      if (priv) {
        j["d"] = get_bn_b64(pk, OSSL_PKEY_PARAM_RSA_D);
        std::string p = get_bn_b64(pk, OSSL_PKEY_PARAM_RSA_FACTOR1);
        if (!p.empty()) {
          j["p"] = p;
          j["q"] = get_bn_b64(pk, OSSL_PKEY_PARAM_RSA_FACTOR2);
          j["dp"] = get_bn_b64(pk, OSSL_PKEY_PARAM_RSA_EXPONENT1);
          j["dq"] = get_bn_b64(pk, OSSL_PKEY_PARAM_RSA_EXPONENT2);
          j["qi"] = get_bn_b64(pk, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
        }
      }
      break;
    case KeyType::kEC: {
      const CurveSpec* spec = curve_spec(m.crv);
      j["kty"] = "EC";
      j["crv"] = spec->jwk_name;
      j["x"] = get_bn_b64(pk, OSSL_PKEY_PARAM_EC_PUB_X, spec->half);
      j["y"] = get_bn_b64(pk, OSSL_PKEY_PARAM_EC_PUB_Y, spec->half);
      if (priv) j["d"] = get_bn_b64(pk, OSSL_PKEY_PARAM_PRIV_KEY, spec->half);
      break;
    }
    case KeyType::kOKP: {
      j["kty"] = "OKP";
      j["crv"] = "Ed25519";
      unsigned char buf[32];
      size_t len = sizeof(buf);
      if (EVP_PKEY_get_raw_public_key(pk, buf, &len) == 1) {
        j["x"] = base64url::encode(std::string_view(reinterpret_cast<char*>(buf), len));
      }
      len = sizeof(buf);
      if (priv && EVP_PKEY_get_raw_private_key(pk, buf, &len) == 1) {
        j["d"] = base64url::encode(std::string_view(reinterpret_cast<char*>(buf), len));
        OPENSSL_cleanse(buf, sizeof(buf));
      }
      break;
    }
    case KeyType::kOct:
      j["kty"] = "oct";
      // A symmetric key is all secret: without include_private it is left out.
      if (include_private) j["k"] = base64url::encode(m.secret);
      break;
  }
  ossl::drain_errors();
  if (!impl_->kid.empty()) j["kid"] = impl_->kid;
  if (impl_->alg) j["alg"] = jose::to_string(*impl_->alg);
  if (impl_->use) j["use"] = *impl_->use;
  if (!m.certificate_der.empty()) j["x5c"] = Json::array({base64::encode(m.certificate_der)});
  return j;
}

std::string Jwk::thumbprint() const {
  // RFC 7638 §3.2: only the required members, lexicographic order, no
  // whitespace. nlohmann::json objects are ordered maps and dump() is compact.
  Json full = to_json(impl_->m->kty == KeyType::kOct);
  Json req = Json::object();
  static constexpr const char* kMembers[] = {"crv", "e", "k", "kty", "n", "x", "y"};
  for (const char* name : kMembers) {
    if (auto it = full.find(name); it != full.end()) req[name] = *it;
  }
  return base64url::encode(crypto::sha256(req.dump()));
}

KeyType Jwk::kty() const { return impl_->m->kty; }
const std::string& Jwk::kid() const { return impl_->kid; }
std::optional<Alg> Jwk::alg() const { return impl_->alg; }
bool Jwk::is_private() const { return impl_->m->is_private; }
const std::string& Jwk::certificate_der() const { return impl_->m->certificate_der; }

bool Jwk::allows(Alg a) const {
  if (impl_->alg && *impl_->alg != a) return false;
  if (impl_->use && *impl_->use != "sig") return false;  // RFC 7517 §4.2
  return kty_allows(*impl_->m, a);
}

Jwk Jwk::with_kid(std::string kid) const {
  return make_jwk(impl_->m, std::move(kid), impl_->alg, impl_->use);
}

Jwk Jwk::with_alg(Alg a) const { return make_jwk(impl_->m, impl_->kid, a, impl_->use); }

Jwk Jwk::public_key() const {
  const KeyMaterial& m = *impl_->m;
  if (m.kty == KeyType::kOct || !m.is_private) return *this;
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(m.pkey.get(), &der);
  if (len <= 0) {
    ossl::drain_errors();
    return *this;  // unreachable for keys that passed import
  }
  const unsigned char* p = der;
  PkeyPtr pub(d2i_PUBKEY(nullptr, &p, len));
  OPENSSL_free(der);
  auto pm = material_from_pkey(std::move(pub), false);
  if (!pm) return *this;
  (*pm)->certificate_der = m.certificate_der;
  return make_jwk(std::move(*pm), impl_->kid, impl_->alg, impl_->use);
}

// --- JWKS (RFC 7517 §5) ---

Result<Jwks, Status> Jwks::from_json(const Json& j) {
  if (!j.is_object()) return Err(Status::kKeyInvalid);
  auto keys = j.find("keys");
  if (keys == j.end() || !keys->is_array()) return Err(Status::kKeyInvalid);
  Jwks set;
  for (const auto& k : *keys) {
    auto key = Jwk::from_json(k);
    if (!key) {
      // RFC 7517 §5: keys of an unknown type or for another purpose (an
      // encryption alg) are ignored; a malformed key poisons the whole set.
      if (key.error() == Status::kKeyUnsupported || key.error() == Status::kAlgUnknown) continue;
      return Err(key.error());
    }
    set.add(std::move(*key));
  }
  return set;
}

Result<Jwks, Status> Jwks::parse(std::string_view text) {
  auto j = parse_key_json(text);
  if (!j) return Err(j.error());
  return from_json(*j);
}

Result<Jwks, Status> Jwks::parse_key_or_set(std::string_view text) {
  auto j = parse_key_json(text);
  if (!j) return Err(j.error());
  if (j->is_object() && j->contains("keys")) return from_json(*j);
  auto k = Jwk::from_json(*j);
  if (!k) return Err(k.error());
  Jwks set;
  set.add(std::move(*k));
  return set;
}

Json Jwks::to_json(bool include_private) const {
  Json arr = Json::array();
  for (const auto& k : keys_) {
    // A published set never carries a symmetric key.
    if (!include_private && k.kty() == KeyType::kOct) continue;
    arr.push_back(k.to_json(include_private));
  }
  return Json{{"keys", std::move(arr)}};
}

std::vector<const Jwk*> Jwks::candidates(std::optional<std::string_view> kid, Alg alg) const {
  std::vector<const Jwk*> out;
  for (const auto& k : keys_) {
    if (kid && k.kid() != *kid) continue;
    if (k.allows(alg)) out.push_back(&k);
  }
  return out;
}

}  // namespace tessera::jose
