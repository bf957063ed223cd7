// Published examples: RFC 7515 Appendix A (A.1-A.4 verify, A.5 unsecured is
// rejected) and RFC 7520 §4.1-4.4, copied from the RFC texts (RFC 7520 via
// the ietf-jose/cookbook JSON that the RFC was generated from).
#include "test_keys.h"

namespace tessera::jose {
namespace {

// RFC 7515 A.1-A.3 share this payload: {"iss":"joe",\r\n "exp":1300819380,\r\n ...}.
constexpr const char* kJoePayload =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ";

std::string joe_token(const char* header, const char* sig) {
  return std::string(header) + "." + kJoePayload + "." + sig;
}

void expect_verifies(const std::string& compact, const Jwk& key, Alg alg,
                     std::string_view payload_prefix) {
  auto v = verify(compact, key, testing::only(alg));
  ASSERT_TRUE(v.ok()) << to_string(v.error());
  EXPECT_EQ(v->alg, alg);
  EXPECT_EQ(v->payload.substr(0, payload_prefix.size()), payload_prefix);
  // One flipped signature character must break it (the test can fail).
  std::string bad = compact;
  bad[bad.size() - 3] = bad[bad.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify(bad, key, testing::only(alg)).ok());
}

TEST(Rfc7515, A1Hs256Verifies) {
  auto key = Jwk::parse(R"({"kty":"oct",
    "k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"})");
  ASSERT_TRUE(key.ok());
  expect_verifies(joe_token("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
                            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                  *key, Alg::kHS256, "{\"iss\":\"joe\"");
}

TEST(Rfc7515, A2Rs256Verifies) {
  auto key = Jwk::from_pem(R"(-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAofgWCuLjybRlzo0tZWJj
NiuSfb4p4fAkd/wWJcyQoTbji9k0l8W26mPddxHmfHQp+Vaw+4qPCJrcS2mJPMEz
P1Pt0Bm4d4QlL+yRT+SFd2lZS+pCgNMsD1W/YpRPEwOWvG6b32690r2jZ47soMZo
9wGzjb/7OMg0LOL+bSf63kpaSHSXndS5z5rexMdbBYUsLA9e+KXBdQOS+UTo7WTB
EMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6/I5IhlJH7aGhyxX
FvUK+DWNmoudF8NAco9/h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXp
oQIDAQAB
-----END PUBLIC KEY-----
)");
  ASSERT_TRUE(key.ok()) << to_string(key.error());
  expect_verifies(
      joe_token("eyJhbGciOiJSUzI1NiJ9",
                "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5"
                "YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6"
                "xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc"
                "6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_"
                "IoypGlUPQGe77Rw"),
      *key, Alg::kRS256, "{\"iss\":\"joe\"");
}

TEST(Rfc7515, A3Es256Verifies) {
  auto key = Jwk::parse(R"({"kty":"EC","crv":"P-256",
    "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})");
  ASSERT_TRUE(key.ok()) << to_string(key.error());
  expect_verifies(
      joe_token("eyJhbGciOiJFUzI1NiJ9",
                "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfK"
                "TUJqPP3-Kg6NU1Q"),
      *key, Alg::kES256, "{\"iss\":\"joe\"");
}

TEST(Rfc7515, A3KeyFromJwkAndFromPemHaveTheSameThumbprint) {
  auto jwk = Jwk::parse(R"({"kty":"EC","crv":"P-256",
    "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})");
  auto pem = Jwk::from_pem(R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV7
6e8Tus9uPHvRVEXH8UTNG72bfocs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==
-----END PUBLIC KEY-----
)");
  ASSERT_TRUE(jwk.ok());
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ(jwk->thumbprint(), pem->thumbprint());
}

TEST(Rfc7515, A4Es512Verifies) {
  auto key = Jwk::from_pem(R"(-----BEGIN PUBLIC KEY-----
MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQB6SkFDxJPxrxVx9U5M2Xfne9KsMIs
sleY+TTrBOPGuuNwGlenkQ6dgb82MVno68sVXWNJ9L22zPipTFxZx6rBAaQANKZE
DjdnUNI3H9G9wsjztx0vTuXqNDLIFcyjFWD+XZOH7HdLVYOGMOXLv1qMvgqR3QBk
xpmaH25uZ/rd7eTIyPY=
-----END PUBLIC KEY-----
)");
  ASSERT_TRUE(key.ok()) << to_string(key.error());
  expect_verifies(
      "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWR"
      "Oc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8"
      "vcnwNrmxYbSW9ERBXukOXolLzeO_Jn",
      *key, Alg::kES512, "Payload");
}

TEST(Rfc7515, A5UnsecuredJwsIsRejected) {
  std::string token = std::string("eyJhbGciOiJub25lIn0.") + kJoePayload + ".";
  auto key = Jwk::from_secret(std::string(64, 'k'));
  EXPECT_EQ(testing::verify_status(token, key), Status::kAlgNone);
  Jwks set;
  set.add(key);
  auto r = verify(token, set);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Status::kAlgNone);
}

// RFC 7520 §3.3/§3.4 (public and private RSA key used by §4.1 and §4.2).
constexpr const char* kBilboRsa = R"({
  "kty": "RSA", "kid": "bilbo.baggins@hobbiton.example", "use": "sig",
  "n": "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw",
  "e": "AQAB",
  "d": "bWUC9B-EFRIo8kpGfh0ZuyGPvMNKvYWNtB_ikiH9k20eT-O1q_I78eiZkpXxXQ0UTEs2LsNRS-8uJbvQ-A1irkwMSMkK1J3XTGgdrhCku9gRldY7sNA_AKZGh-Q661_42rINLRCe8W-nZ34ui_qOfkLnK9QWDDqpaIsA-bMwWWSDFu2MUBYwkHTMEzLYGqOe04noqeq1hExBTHBOBdkMXiuFhUq1BU6l-DqEiWxqg82sXt2h-LMnT3046AOYJoRioz75tSUQfGCshWTBnP5uDjd18kKhyv07lhfSJdrPdM5Plyl21hsFf4L_mHCuoFau7gdsPfHPxxjVOcOpBrQzwQ",
  "p": "3Slxg_DwTXJcb6095RoXygQCAZ5RnAvZlno1yhHtnUex_fp7AZ_9nRaO7HX_-SFfGQeutao2TDjDAWU4Vupk8rw9JR0AzZ0N2fvuIAmr_WCsmGpeNqQnev1T7IyEsnh8UMt-n5CafhkikzhEsrmndH6LxOrvRJlsPp6Zv8bUq0k",
  "q": "uKE2dh-cTf6ERF4k4e_jy78GfPYUIaUyoSSJuBzp3Cubk3OCqs6grT8bR_cu0Dm1MZwWmtdqDyI95HrUeq3MP15vMMON8lHTeZu2lmKvwqW7anV5UzhM1iZ7z4yMkuUwFWoBvyY898EXvRD-hdqRxHlSqAZ192zB3pVFJ0s7pFc",
  "dp": "B8PVvXkvJrj2L-GYQ7v3y9r6Kw5g9SahXBwsWUzp19TVlgI-YV85q1NIb1rxQtD-IsXXR3-TanevuRPRt5OBOdiMGQp8pbt26gljYfKU_E9xn-RULHz0-ed9E9gXLKD4VGngpz-PfQ_q29pk5xWHoJp009Qf1HvChixRX59ehik",
  "dq": "CLDmDGduhylc9o7r84rEUVn7pzQ6PF83Y-iBZx5NT-TpnOZKF1pErAMVeKzFEl41DlHHqqBLSM0W1sOFbwTxYWZDm6sI6og5iTbwQGIC3gnJKbi_7k_vJgGHwHxgPaX2PnvP-zyEkDERuf-ry4c_Z11Cq9AqC2yeL6kdKT1cYF8",
  "qi": "3PiqvXQN0zwMeE-sBvZgi289XP9XCQF3VWqPzMKnIgQp7_Tugo6-NZBKCQsMf3HaEGBjTVJs_jcK8-TRXvaKe-7ZMaQj8VfBdYkssbu0NKDDhjJ-GtiseaDVWt7dcH0cfwxgFUHpQh7FoCrjFJ6h6ZEpMF6xmujs4qMpPz8aaI4"
})";

// RFC 7520 §4 payload (Frodo quote), base64url.
constexpr const char* kFrodo =
    "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250"
    "byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hl"
    "cmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";

std::string frodo_token(const char* header, const char* sig) {
  return std::string(header) + "." + kFrodo + "." + sig;
}

TEST(Rfc7520, S41Rs256VerifiesAndSignsIdentically) {
  auto key = Jwk::parse(kBilboRsa);
  ASSERT_TRUE(key.ok()) << to_string(key.error());
  std::string token = frodo_token(
      "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9",
      "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xu"
      "glII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5a"
      "AE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0"
      "KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg");
  expect_verifies(token, key->public_key(), Alg::kRS256, "It\xE2\x80\x99s a dangerous business");
  // PKCS#1 v1.5 is deterministic: our signer must produce the RFC's bytes.
  auto payload = base64url::decode(kFrodo);
  ASSERT_TRUE(payload.has_value());
  auto signed_token = sign(*payload, *key, Alg::kRS256);
  ASSERT_TRUE(signed_token.ok());
  EXPECT_EQ(signed_token->substr(signed_token->rfind('.')), token.substr(token.rfind('.')));
}

TEST(Rfc7520, S42Ps384Verifies) {
  auto key = Jwk::parse(kBilboRsa);
  ASSERT_TRUE(key.ok());
  expect_verifies(
      frodo_token(
          "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9",
          "cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCd"
          "P6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442Z"
          "dNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6uiP1"
          "aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw"),
      key->public_key(), Alg::kPS384, "It\xE2\x80\x99s a dangerous business");
}

TEST(Rfc7520, S43Es512Verifies) {
  auto key = Jwk::parse(R"({
    "kty": "EC", "kid": "bilbo.baggins@hobbiton.example", "use": "sig", "crv": "P-521",
    "x": "AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",
    "y": "AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1",
    "d": "AAhRON2r9cqXX1hg-RoI6R1tX5p2rUAYdmpHZoC1XNM56KtscrX6zbKipQrCW9CGZH3T4ubpnoTKLDYJ_fF3_rJt"})");
  ASSERT_TRUE(key.ok()) << to_string(key.error());
  expect_verifies(
      frodo_token(
          "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9",
          "AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1e"
          "JAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9"
          "xQ2"),
      key->public_key(), Alg::kES512, "It\xE2\x80\x99s a dangerous business");
}

TEST(Rfc7520, S44Hs256VerifiesAndSignsIdentically) {
  auto key = Jwk::parse(R"({"kty": "oct", "kid": "018c0ae5-4d9b-471b-bfd6-eef314bc7037",
    "use": "sig", "alg": "HS256", "k": "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"})");
  ASSERT_TRUE(key.ok()) << to_string(key.error());
  std::string token = frodo_token(
      "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9",
      "s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0");
  expect_verifies(token, *key, Alg::kHS256, "It\xE2\x80\x99s a dangerous business");
  auto payload = base64url::decode(kFrodo);
  auto signed_token = sign(*payload, *key, Alg::kHS256);
  ASSERT_TRUE(signed_token.ok());
  EXPECT_EQ(*signed_token, token);  // header {"alg","kid"} serializes in the RFC's order
}

// RFC 7638 §3.1: the thumbprint of the RFC 7517 example RSA key.
TEST(Rfc7638, ExampleRsaKeyThumbprint) {
  auto key = Jwk::parse(R"({"kty":"RSA",
    "n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e":"AQAB","alg":"RS256","kid":"2011-04-29"})");
  ASSERT_TRUE(key.ok()) << to_string(key.error());
  EXPECT_EQ(key->thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

// RFC 8037 Appendix A.4: Ed25519 signing is deterministic.
TEST(Rfc8037, A4Ed25519SignsAndVerifiesTheExample) {
  auto key = Jwk::parse(R"({"kty":"OKP","crv":"Ed25519",
    "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})");
  ASSERT_TRUE(key.ok()) << to_string(key.error());
  std::string token =
      "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGc"
      "vMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
  expect_verifies(token, key->public_key(), Alg::kEdDSA, "Example of Ed25519 signing");
  auto signed_token = sign("Example of Ed25519 signing", *key, Alg::kEdDSA);
  ASSERT_TRUE(signed_token.ok());
  EXPECT_EQ(*signed_token, token);
  EXPECT_EQ(key->thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

}  // namespace
}  // namespace tessera::jose
