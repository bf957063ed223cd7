// GrantStore on both backends: grants with their code, every outcome of code redemption and of
// refresh-token rotation, reuse and replay revoking the whole grant, exactly one winner among
// concurrent rotations and redemptions, revocation by token, grant and session, listing and
// purge.
#include "store/grant_store.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <barrier>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include "backend_fixture.h"
#include "core/crypto.h"

namespace tessera::store::testing {
namespace {

using Code = StoreError::Code;
using CodeOutcome = GrantStore::CodeOutcome;
using RotateOutcome = GrantStore::RotateOutcome;

std::string hash(std::string_view value) { return crypto::sha256(value); }

// The outcome of a redemption or rotation; nullopt, with a failure recorded, when it errored.
template <class R>
auto outcome_of(const StoreResult<R>& r) -> std::optional<decltype(r->outcome)> {
  if (!r) {
    ADD_FAILURE() << r.error().message;
    return std::nullopt;
  }
  return r->outcome;
}

class GrantStoreTest : public StoreTest {
 protected:
  GrantStore& grants() { return store_->grants(); }

  GrantRecord grant(const std::string& id, std::optional<std::string> sid = "sid-1",
                    const std::string& subject = "alice", int64_t lifetime = 86400) {
    GrantRecord g;
    g.id = id;
    g.client_id = "spa";
    g.subject = subject;
    g.sid = std::move(sid);
    g.scopes = {"openid", "invoices:read"};
    g.audiences = {"https://api.example"};
    g.auth_time = clock_.now() - 30;
    g.acr = "urn:tessera:acr:mfa";
    g.amr = {"pwd", "otp"};
    g.claims_json = R"({"tenant":"acme"})";
    g.created_at = clock_.now();
    g.expires_at = clock_.now() + lifetime;
    return g;
  }

  CodeRecord code(const std::string& value, const std::string& grant_id, int64_t lifetime = 60) {
    CodeRecord c;
    c.code_sha256 = hash(value);
    c.grant_id = grant_id;
    c.client_id = "spa";
    c.redirect_uri = "https://app.example/cb";
    c.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    c.nonce = "n-0S6_WzA2Mj";
    c.expires_at = clock_.now() + lifetime;
    return c;
  }

  TokenRecord token(const std::string& value, TokenKind kind,
                    std::optional<std::string> grant_id = "g1", int64_t lifetime = 3600) {
    TokenRecord t;
    t.token_sha256 = hash(value);
    t.kind = kind;
    t.grant_id = std::move(grant_id);
    t.client_id = "spa";
    t.subject = "alice";
    t.scopes = {"openid"};
    t.audiences = {"https://api.example"};
    t.claims_json = R"({"auth_time":1699999970})";
    t.issued_at = clock_.now();
    t.expires_at = clock_.now() + lifetime;
    return t;
  }

  // Stores grant g1 (code "code-1") with a refresh token "rt-1" and an access token "at-1".
  void seed_family() {
    ASSERT_TRUE(grants().create_grant(grant("g1"), code("code-1", "g1")));
    const std::array tokens{token("rt-1", TokenKind::kRefresh), token("at-1", TokenKind::kAccess)};
    auto inserted = grants().insert_tokens(tokens);
    ASSERT_TRUE(inserted) << inserted.error().message;
  }

  TokenRecord stored_token(std::string_view value) {
    auto found = grants().find_token(hash(value));
    EXPECT_TRUE(found) << found.error().message;
    if (!found || !found->has_value()) {
      ADD_FAILURE() << "token " << value << " is not stored";
      return {};
    }
    return **found;
  }

  GrantRecord stored_grant(std::string_view id) {
    auto found = grants().find_grant(id);
    EXPECT_TRUE(found) << found.error().message;
    if (!found || !found->has_value()) {
      ADD_FAILURE() << "grant " << id << " is not stored";
      return {};
    }
    return **found;
  }

  bool token_exists(std::string_view value) {
    auto found = grants().find_token(hash(value));
    EXPECT_TRUE(found);
    return found && found->has_value();
  }

  StoreResult<GrantStore::Rotation> rotate(std::string_view value, const std::string& next) {
    const std::array replacements{token(next, TokenKind::kRefresh),
                                  token("at-" + next, TokenKind::kAccess)};
    return grants().rotate_refresh_token(hash(value), replacements);
  }
};

TEST_P(GrantStoreTest, GrantRoundTripsEveryField) {
  GrantRecord g = grant("g1");
  ASSERT_TRUE(grants().create_grant(g, std::nullopt));
  GrantRecord f = stored_grant("g1");
  EXPECT_EQ(f.id, "g1");
  EXPECT_EQ(f.client_id, "spa");
  EXPECT_EQ(f.subject, "alice");
  EXPECT_EQ(f.sid, std::optional<std::string>("sid-1"));
  EXPECT_EQ(f.scopes, g.scopes);
  EXPECT_EQ(f.audiences, g.audiences);
  EXPECT_EQ(f.auth_time, g.auth_time);
  EXPECT_EQ(f.acr, g.acr);
  EXPECT_EQ(f.amr, g.amr);
  EXPECT_EQ(f.claims_json, g.claims_json);
  EXPECT_EQ(f.created_at, g.created_at);
  EXPECT_EQ(f.expires_at, g.expires_at);
  EXPECT_FALSE(f.revoked_at.has_value());

  ASSERT_TRUE(grants().create_grant(grant("g2", std::nullopt), std::nullopt));
  EXPECT_FALSE(stored_grant("g2").sid.has_value());
  auto unknown = grants().find_grant("nope");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->has_value());
}

TEST_P(GrantStoreTest, MalformedGrantsAndCodesAreRefusedAndNothingIsWritten) {
  GrantRecord no_id = grant("");
  GrantRecord no_client = grant("g1");
  no_client.client_id.clear();
  GrantRecord no_subject = grant("g1", "sid-1", "");
  GrantRecord empty_sid = grant("g1", "");
  GrantRecord array_claims = grant("g1");
  array_claims.claims_json = "[]";
  GrantRecord broken_claims = grant("g1");
  broken_claims.claims_json = "{";
  GrantRecord backwards = grant("g1");
  backwards.expires_at = backwards.created_at;
  for (const GrantRecord& g :
       {no_id, no_client, no_subject, empty_sid, array_claims, broken_claims, backwards}) {
    auto created = grants().create_grant(g, std::nullopt);
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().code, Code::kInvalidArgument);
  }
  CodeRecord short_hash = code("c", "g1");
  short_hash.code_sha256 = "abc";
  CodeRecord other_grant = code("c", "g2");
  CodeRecord other_client = code("c", "g1");
  other_client.client_id = "other";
  for (const CodeRecord& c : {short_hash, other_grant, other_client}) {
    auto created = grants().create_grant(grant("g1"), c);
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().code, Code::kInvalidArgument);
  }
  auto found = grants().find_grant("g1");
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TEST_P(GrantStoreTest, DuplicateGrantOrCodeIsAConflictAndRollsBack) {
  ASSERT_TRUE(grants().create_grant(grant("g1"), code("code-1", "g1")));
  auto same_id = grants().create_grant(grant("g1"), std::nullopt);
  ASSERT_FALSE(same_id);
  EXPECT_EQ(same_id.error().code, Code::kConflict);
  auto same_code = grants().create_grant(grant("g2"), code("code-1", "g2"));
  ASSERT_FALSE(same_code);
  EXPECT_EQ(same_code.error().code, Code::kConflict);
  auto g2 = grants().find_grant("g2");
  ASSERT_TRUE(g2);
  EXPECT_FALSE(g2->has_value()) << "the grant must not outlive its failed code";
}

TEST_P(GrantStoreTest, RedeemedCodeComesBackWithItsGrant) {
  CodeRecord c = code("code-1", "g1");
  ASSERT_TRUE(grants().create_grant(grant("g1"), c));
  auto r = grants().redeem_code(hash("code-1"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->outcome, CodeOutcome::kRedeemed);
  ASSERT_TRUE(r->code && r->grant);
  EXPECT_EQ(r->code->code_sha256, c.code_sha256);
  EXPECT_EQ(r->code->grant_id, "g1");
  EXPECT_EQ(r->code->client_id, "spa");
  EXPECT_EQ(r->code->redirect_uri, c.redirect_uri);
  EXPECT_EQ(r->code->code_challenge, c.code_challenge);
  EXPECT_EQ(r->code->nonce, c.nonce);
  EXPECT_EQ(r->code->expires_at, c.expires_at);
  EXPECT_EQ(r->code->used_at, std::optional<int64_t>(clock_.now()));
  EXPECT_EQ(r->grant->id, "g1");
  EXPECT_EQ(r->grant->scopes, grant("g1").scopes);
  EXPECT_FALSE(r->grant->revoked_at.has_value());
}

TEST_P(GrantStoreTest, UnknownCodeIsUnknown) {
  auto r = grants().redeem_code(hash("never-issued"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->outcome, CodeOutcome::kUnknown);
  EXPECT_FALSE(r->code.has_value());
  EXPECT_FALSE(r->grant.has_value());
  auto malformed = grants().redeem_code("short");
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code, Code::kInvalidArgument);
}

TEST_P(GrantStoreTest, ExpiredCodeIsExpiredAndNotMarkedUsed) {
  ASSERT_TRUE(grants().create_grant(grant("g1"), code("code-1", "g1", 60)));
  clock_.advance(60);
  for (int attempt = 0; attempt < 2; ++attempt) {  // not marked used: never a replay
    auto r = grants().redeem_code(hash("code-1"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->outcome, CodeOutcome::kExpired);
    ASSERT_TRUE(r->code && r->grant);
    EXPECT_FALSE(r->code->used_at.has_value());
  }
  EXPECT_FALSE(stored_grant("g1").revoked_at.has_value());
}

TEST_P(GrantStoreTest, DoubleRedemptionIsAReplayThatRevokesTheGrantAndItsTokens) {
  ASSERT_TRUE(grants().create_grant(grant("g1"), code("code-1", "g1")));
  auto first = grants().redeem_code(hash("code-1"));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->outcome, CodeOutcome::kRedeemed);
  const std::array issued{token("rt-1", TokenKind::kRefresh), token("at-1", TokenKind::kAccess)};
  ASSERT_TRUE(grants().insert_tokens(issued));
  clock_.advance(5);
  auto replay = grants().redeem_code(hash("code-1"));
  ASSERT_TRUE(replay) << replay.error().message;
  EXPECT_EQ(replay->outcome, CodeOutcome::kReplayed);
  ASSERT_TRUE(replay->code && replay->grant);
  EXPECT_EQ(replay->code->used_at, std::optional<int64_t>(clock_.now() - 5));
  EXPECT_EQ(replay->grant->revoked_at, std::optional<int64_t>(clock_.now()));
  EXPECT_EQ(stored_grant("g1").revoked_at, std::optional<int64_t>(clock_.now()));
  EXPECT_EQ(stored_token("rt-1").revoked_at, std::optional<int64_t>(clock_.now()));
  EXPECT_EQ(stored_token("at-1").revoked_at, std::optional<int64_t>(clock_.now()));
  // The grant is revoked now: a further presentation says so.
  auto third = grants().redeem_code(hash("code-1"));
  ASSERT_TRUE(third);
  EXPECT_EQ(third->outcome, CodeOutcome::kRevoked);
}

TEST_P(GrantStoreTest, ReplayAfterExpiryIsStillAReplay) {
  ASSERT_TRUE(grants().create_grant(grant("g1"), code("code-1", "g1", 60)));
  ASSERT_EQ(outcome_of(grants().redeem_code(hash("code-1"))), CodeOutcome::kRedeemed);
  clock_.advance(120);
  auto replay = grants().redeem_code(hash("code-1"));
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->outcome, CodeOutcome::kReplayed);
  EXPECT_TRUE(stored_grant("g1").revoked_at.has_value());
}

TEST_P(GrantStoreTest, CodeOfRevokedGrantIsRevokedAndNotConsumed) {
  ASSERT_TRUE(grants().create_grant(grant("g1"), code("code-1", "g1")));
  ASSERT_TRUE(grants().revoke_grant("g1"));
  auto r = grants().redeem_code(hash("code-1"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->outcome, CodeOutcome::kRevoked);
  ASSERT_TRUE(r->code && r->grant);
  EXPECT_TRUE(r->grant->revoked_at.has_value());
}

TEST_P(GrantStoreTest, CodeOfExpiredGrantIsExpired) {
  ASSERT_TRUE(grants().create_grant(grant("g1", "sid-1", "alice", 30), code("code-1", "g1", 60)));
  clock_.advance(30);
  auto r = grants().redeem_code(hash("code-1"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, CodeOutcome::kExpired);
}

TEST_P(GrantStoreTest, ConcurrentRedemptionsHaveExactlyOneWinner) {
  ASSERT_TRUE(grants().create_grant(grant("g1"), code("code-1", "g1")));
  constexpr int kThreads = 20;
  std::array<std::optional<CodeOutcome>, kThreads> outcomes;
  std::array<std::string, kThreads> errors;
  std::latch start(kThreads);
  std::vector<std::thread> racers;
  for (int i = 0; i < kThreads; ++i) {
    racers.emplace_back([&, i] {
      start.arrive_and_wait();
      auto r = grants().redeem_code(hash("code-1"));
      if (r) {
        outcomes[i] = r->outcome;
      } else {
        errors[i] = r.error().message;
      }
    });
  }
  for (auto& racer : racers) racer.join();
  int redeemed = 0;
  int replayed = 0;
  int revoked = 0;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(outcomes[i].has_value()) << errors[i];
    redeemed += *outcomes[i] == CodeOutcome::kRedeemed;
    replayed += *outcomes[i] == CodeOutcome::kReplayed;
    revoked += *outcomes[i] == CodeOutcome::kRevoked;
  }
  EXPECT_EQ(redeemed, 1);
  EXPECT_EQ(replayed, 1);  // the first after the winner revokes the grant
  EXPECT_EQ(revoked, kThreads - 2);
}

TEST_P(GrantStoreTest, InsertedTokensRoundTripEveryField) {
  ASSERT_TRUE(grants().create_grant(grant("g1"), std::nullopt));
  TokenRecord rt = token("rt-1", TokenKind::kRefresh);
  TokenRecord service = token("at-svc", TokenKind::kAccess, std::nullopt, 600);
  service.subject = "svc";
  service.client_id = "svc";
  const std::array tokens{rt, service};
  auto inserted = grants().insert_tokens(tokens);
  ASSERT_TRUE(inserted) << inserted.error().message;
  TokenRecord f = stored_token("rt-1");
  EXPECT_EQ(f.token_sha256, rt.token_sha256);
  EXPECT_EQ(f.kind, TokenKind::kRefresh);
  EXPECT_EQ(f.grant_id, std::optional<std::string>("g1"));
  EXPECT_EQ(f.client_id, "spa");
  EXPECT_EQ(f.subject, "alice");
  EXPECT_EQ(f.scopes, rt.scopes);
  EXPECT_EQ(f.audiences, rt.audiences);
  EXPECT_EQ(f.claims_json, rt.claims_json);
  EXPECT_EQ(f.issued_at, rt.issued_at);
  EXPECT_EQ(f.expires_at, rt.expires_at);
  EXPECT_FALSE(f.used_at.has_value());
  EXPECT_FALSE(f.revoked_at.has_value());
  TokenRecord s = stored_token("at-svc");
  EXPECT_EQ(s.kind, TokenKind::kAccess);
  EXPECT_FALSE(s.grant_id.has_value());
  EXPECT_EQ(s.subject, "svc");
  auto unknown = grants().find_token(hash("nope"));
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->has_value());
  EXPECT_EQ(to_string(TokenKind::kAccess), "access");
  EXPECT_EQ(to_string(TokenKind::kRefresh), "refresh");
}

TEST_P(GrantStoreTest, TokensOfAMissingGrantAreNotFoundAndOfARevokedOneAConflict) {
  const std::array orphan{token("at-1", TokenKind::kAccess, "nope")};
  auto missing = grants().insert_tokens(orphan);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::kNotFound);
  ASSERT_TRUE(grants().create_grant(grant("g1"), std::nullopt));
  ASSERT_TRUE(grants().revoke_grant("g1"));
  const std::array late{token("at-2", TokenKind::kAccess, "g1")};
  auto revoked = grants().insert_tokens(late);
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().code, Code::kConflict);
  EXPECT_FALSE(token_exists("at-1"));
  EXPECT_FALSE(token_exists("at-2"));
}

TEST_P(GrantStoreTest, DuplicateTokenIsAConflictAndTheBatchIsRolledBack) {
  seed_family();
  const std::array batch{token("at-new", TokenKind::kAccess), token("rt-1", TokenKind::kRefresh)};
  auto inserted = grants().insert_tokens(batch);
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().code, Code::kConflict);
  EXPECT_FALSE(token_exists("at-new"));
}

TEST_P(GrantStoreTest, MalformedTokensAreRefused) {
  ASSERT_TRUE(grants().create_grant(grant("g1"), std::nullopt));
  TokenRecord short_hash = token("a", TokenKind::kAccess);
  short_hash.token_sha256 = "short";
  TokenRecord no_client = token("b", TokenKind::kAccess);
  no_client.client_id.clear();
  TokenRecord no_subject = token("c", TokenKind::kAccess);
  no_subject.subject.clear();
  TokenRecord empty_grant = token("d", TokenKind::kAccess, "");
  TokenRecord string_claims = token("e", TokenKind::kAccess);
  string_claims.claims_json = R"("x")";
  TokenRecord backwards = token("f", TokenKind::kAccess);
  backwards.expires_at = backwards.issued_at - 1;
  for (const TokenRecord& t :
       {short_hash, no_client, no_subject, empty_grant, string_claims, backwards}) {
    const std::array one{t};
    auto inserted = grants().insert_tokens(one);
    ASSERT_FALSE(inserted);
    EXPECT_EQ(inserted.error().code, Code::kInvalidArgument);
    auto rotated = grants().rotate_refresh_token(hash("rt"), one);
    ASSERT_FALSE(rotated);
    EXPECT_EQ(rotated.error().code, Code::kInvalidArgument);
  }
  auto find_short = grants().find_token("short");
  ASSERT_FALSE(find_short);
  EXPECT_EQ(find_short.error().code, Code::kInvalidArgument);
}

TEST_P(GrantStoreTest, RotationMarksTheTokenUsedAndStoresTheReplacements) {
  seed_family();
  clock_.advance(10);
  auto r = rotate("rt-1", "rt-2");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->outcome, RotateOutcome::kRotated);
  ASSERT_TRUE(r->token && r->grant);
  EXPECT_EQ(r->token->token_sha256, hash("rt-1"));
  EXPECT_EQ(r->token->used_at, std::optional<int64_t>(clock_.now()));
  EXPECT_EQ(r->grant->id, "g1");
  EXPECT_EQ(stored_token("rt-1").used_at, std::optional<int64_t>(clock_.now()));
  TokenRecord next = stored_token("rt-2");
  EXPECT_EQ(next.kind, TokenKind::kRefresh);
  EXPECT_FALSE(next.used_at.has_value());
  EXPECT_TRUE(token_exists("at-rt-2"));
  // The new token rotates in turn.
  auto again = rotate("rt-2", "rt-3");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->outcome, RotateOutcome::kRotated);
}

TEST_P(GrantStoreTest, UnknownAndAccessTokensAreUnknownToRotation) {
  seed_family();
  auto unknown = rotate("never-issued", "rt-2");
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_EQ(unknown->outcome, RotateOutcome::kUnknown);
  EXPECT_FALSE(unknown->token.has_value());
  EXPECT_FALSE(unknown->grant.has_value());
  auto access = rotate("at-1", "rt-2");
  ASSERT_TRUE(access);
  EXPECT_EQ(access->outcome, RotateOutcome::kUnknown);
  EXPECT_FALSE(token_exists("rt-2"));
  EXPECT_FALSE(stored_token("at-1").used_at.has_value());
}

TEST_P(GrantStoreTest, ExpiredRefreshTokenIsExpiredAndNothingChanges) {
  seed_family();  // rt-1 lives 3600 s
  clock_.advance(3600);
  auto r = rotate("rt-1", "rt-2");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->outcome, RotateOutcome::kExpired);
  ASSERT_TRUE(r->token && r->grant);
  EXPECT_FALSE(stored_token("rt-1").used_at.has_value());
  EXPECT_FALSE(token_exists("rt-2"));
  EXPECT_FALSE(stored_grant("g1").revoked_at.has_value());
}

TEST_P(GrantStoreTest, RefreshTokenOfAnExpiredGrantIsExpired) {
  ASSERT_TRUE(grants().create_grant(grant("g1", "sid-1", "alice", 100), std::nullopt));
  const std::array rt{token("rt-1", TokenKind::kRefresh, "g1", 3600)};
  ASSERT_TRUE(grants().insert_tokens(rt));
  clock_.advance(100);
  auto r = rotate("rt-1", "rt-2");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->outcome, RotateOutcome::kExpired);
  EXPECT_FALSE(stored_token("rt-1").used_at.has_value());
  EXPECT_FALSE(token_exists("rt-2"));
}

TEST_P(GrantStoreTest, RefreshTokenOfARevokedGrantIsRevokedAndNothingChanges) {
  seed_family();
  ASSERT_TRUE(grants().revoke_grant("g1"));
  auto r = rotate("rt-1", "rt-2");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->outcome, RotateOutcome::kRevoked);
  ASSERT_TRUE(r->token && r->grant);
  EXPECT_TRUE(r->grant->revoked_at.has_value());
  EXPECT_FALSE(stored_token("rt-1").used_at.has_value());
  EXPECT_FALSE(token_exists("rt-2"));
}

TEST_P(GrantStoreTest, RevokedGrantlessRefreshTokenIsRevoked) {
  const std::array rt{token("rt-x", TokenKind::kRefresh, std::nullopt)};
  ASSERT_TRUE(grants().insert_tokens(rt));
  auto revoked = grants().revoke_token(hash("rt-x"));
  ASSERT_TRUE(revoked);
  EXPECT_EQ(*revoked, 1);
  const std::array next{token("rt-y", TokenKind::kRefresh, std::nullopt)};
  auto r = grants().rotate_refresh_token(hash("rt-x"), next);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->outcome, RotateOutcome::kRevoked);
  EXPECT_FALSE(r->grant.has_value());
  EXPECT_FALSE(token_exists("rt-y"));
}

TEST_P(GrantStoreTest, ReuseRevokesTheWholeFamilyAndStoresNothing) {
  seed_family();
  ASSERT_TRUE(grants().create_grant(grant("g-other"), std::nullopt));
  const std::array other{token("rt-other", TokenKind::kRefresh, "g-other")};
  ASSERT_TRUE(grants().insert_tokens(other));
  ASSERT_EQ(outcome_of(rotate("rt-1", "rt-2")), RotateOutcome::kRotated);
  clock_.advance(7);
  auto reuse = rotate("rt-1", "rt-attacker");
  ASSERT_TRUE(reuse) << reuse.error().message;
  EXPECT_EQ(reuse->outcome, RotateOutcome::kReused);
  ASSERT_TRUE(reuse->token && reuse->grant);
  EXPECT_EQ(reuse->grant->revoked_at, std::optional<int64_t>(clock_.now()));
  EXPECT_FALSE(token_exists("rt-attacker"));
  EXPECT_FALSE(token_exists("at-rt-attacker"));
  EXPECT_EQ(stored_grant("g1").revoked_at, std::optional<int64_t>(clock_.now()));
  for (const char* t : {"rt-1", "at-1", "rt-2", "at-rt-2"}) {
    EXPECT_EQ(stored_token(t).revoked_at, std::optional<int64_t>(clock_.now())) << t;
  }
  // Another family is untouched.
  EXPECT_FALSE(stored_grant("g-other").revoked_at.has_value());
  EXPECT_FALSE(stored_token("rt-other").revoked_at.has_value());
  // The legitimate client's new token is dead too.
  auto next = rotate("rt-2", "rt-3");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->outcome, RotateOutcome::kRevoked);
  // And the family's unused code can no longer be redeemed.
  auto redeemed = grants().redeem_code(hash("code-1"));
  ASSERT_TRUE(redeemed);
  EXPECT_EQ(redeemed->outcome, CodeOutcome::kRevoked);
}

TEST_P(GrantStoreTest, ReuseAfterExpiryIsStillReuse) {
  seed_family();
  ASSERT_EQ(outcome_of(rotate("rt-1", "rt-2")), RotateOutcome::kRotated);
  clock_.advance(4000);  // rt-1 expired, the grant has not
  auto reuse = rotate("rt-1", "rt-x");
  ASSERT_TRUE(reuse);
  EXPECT_EQ(reuse->outcome, RotateOutcome::kReused);
  EXPECT_TRUE(stored_grant("g1").revoked_at.has_value());
}

TEST_P(GrantStoreTest, ReplacementUnderAnotherGrantIsRefusedAndTheTokenStaysUnused) {
  seed_family();
  ASSERT_TRUE(grants().create_grant(grant("g2"), std::nullopt));
  const std::array replacements{token("rt-2", TokenKind::kRefresh, "g2")};
  auto r = grants().rotate_refresh_token(hash("rt-1"), replacements);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_FALSE(stored_token("rt-1").used_at.has_value());
  EXPECT_FALSE(token_exists("rt-2"));
}

TEST_P(GrantStoreTest, ConflictingReplacementRollsBackTheRotation) {
  seed_family();
  const std::array replacements{token("at-1", TokenKind::kAccess)};  // already stored
  auto r = grants().rotate_refresh_token(hash("rt-1"), replacements);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kConflict);
  EXPECT_FALSE(stored_token("rt-1").used_at.has_value());
  EXPECT_EQ(outcome_of(rotate("rt-1", "rt-2")), RotateOutcome::kRotated);
}

// RFC 9700 §4.14.2 under contention: 50 presentations of one refresh token at once (more than
// the pool's 8 connections) produce one rotation, and the rest detect reuse.
TEST_P(GrantStoreTest, ConcurrentRotationsHaveExactlyOneWinnerAndTheFamilyEndsRevoked) {
  seed_family();
  constexpr int kThreads = 50;
  std::array<std::optional<RotateOutcome>, kThreads> outcomes;
  std::array<std::string, kThreads> errors;
  std::barrier start(kThreads);
  std::vector<std::thread> racers;
  racers.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    racers.emplace_back([&, i] {
      const std::string next = "rt-next-" + std::to_string(i);
      const std::array replacements{token(next, TokenKind::kRefresh),
                                    token("at-" + next, TokenKind::kAccess)};
      start.arrive_and_wait();
      auto r = grants().rotate_refresh_token(hash("rt-1"), replacements);
      if (r) {
        outcomes[i] = r->outcome;
      } else {
        errors[i] = r.error().message;
      }
    });
  }
  for (auto& racer : racers) racer.join();

  int rotated = 0;
  int reused = 0;
  int revoked = 0;
  int winner = -1;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(outcomes[i].has_value()) << "thread " << i << ": " << errors[i];
    switch (*outcomes[i]) {
      case RotateOutcome::kRotated:
        ++rotated;
        winner = i;
        break;
      case RotateOutcome::kReused:
        ++reused;
        break;
      case RotateOutcome::kRevoked:
        ++revoked;
        break;
      default:
        ADD_FAILURE() << "thread " << i << " got an unexpected outcome";
    }
  }
  EXPECT_EQ(rotated, 1);
  EXPECT_EQ(reused, 1);  // the first one after the winner revokes the family
  EXPECT_EQ(rotated + reused + revoked, kThreads);
  ASSERT_NE(winner, -1);

  // The grant and every token of it are revoked, the winner's replacements included; no
  // loser stored anything.
  EXPECT_TRUE(stored_grant("g1").revoked_at.has_value());
  const std::string winner_next = "rt-next-" + std::to_string(winner);
  for (const std::string& t :
       {std::string("rt-1"), std::string("at-1"), winner_next, "at-" + winner_next}) {
    EXPECT_TRUE(stored_token(t).revoked_at.has_value()) << t;
  }
  for (int i = 0; i < kThreads; ++i) {
    if (i == winner) continue;
    EXPECT_FALSE(token_exists("rt-next-" + std::to_string(i))) << i;
  }
}

TEST_P(GrantStoreTest, RevokingARefreshTokenRevokesItsGrantAndEveryTokenUnderIt) {
  seed_family();
  const std::array more{token("at-2", TokenKind::kAccess)};
  ASSERT_TRUE(grants().insert_tokens(more));
  auto revoked = grants().revoke_token(hash("rt-1"));
  ASSERT_TRUE(revoked) << revoked.error().message;
  EXPECT_EQ(*revoked, 3);
  EXPECT_TRUE(stored_grant("g1").revoked_at.has_value());
  for (const char* t : {"rt-1", "at-1", "at-2"}) {
    EXPECT_TRUE(stored_token(t).revoked_at.has_value()) << t;
  }
  auto again = grants().revoke_token(hash("rt-1"));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);
}

TEST_P(GrantStoreTest, RevokingAnAccessTokenRevokesOnlyThatToken) {
  seed_family();
  auto revoked = grants().revoke_token(hash("at-1"));
  ASSERT_TRUE(revoked) << revoked.error().message;
  EXPECT_EQ(*revoked, 1);
  EXPECT_TRUE(stored_token("at-1").revoked_at.has_value());
  EXPECT_FALSE(stored_token("rt-1").revoked_at.has_value());
  EXPECT_FALSE(stored_grant("g1").revoked_at.has_value());
  auto again = grants().revoke_token(hash("at-1"));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);
  auto unknown = grants().revoke_token(hash("never-issued"));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(*unknown, 0);
}

TEST_P(GrantStoreTest, RevokeGrantCountsTokensAndConsumesUnusedCodes) {
  seed_family();
  auto revoked = grants().revoke_grant("g1");
  ASSERT_TRUE(revoked) << revoked.error().message;
  EXPECT_EQ(*revoked, 2);
  auto again = grants().revoke_grant("g1");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);
  auto unknown = grants().revoke_grant("nope");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(*unknown, 0);
  auto redeemed = grants().redeem_code(hash("code-1"));
  ASSERT_TRUE(redeemed);
  EXPECT_EQ(redeemed->outcome, CodeOutcome::kRevoked);
}

TEST_P(GrantStoreTest, LogoutRevokesEveryGrantOfTheSessionOnly) {
  ASSERT_TRUE(grants().create_grant(grant("g1", "sid-1"), code("code-1", "g1")));
  ASSERT_TRUE(grants().create_grant(grant("g2", "sid-1"), std::nullopt));
  ASSERT_TRUE(grants().create_grant(grant("g3", "sid-2"), std::nullopt));
  const std::array tokens{token("rt-1", TokenKind::kRefresh, "g1"),
                          token("at-2", TokenKind::kAccess, "g2"),
                          token("rt-3", TokenKind::kRefresh, "g3")};
  ASSERT_TRUE(grants().insert_tokens(tokens));
  auto revoked = grants().revoke_grants_for_session("sid-1");
  ASSERT_TRUE(revoked) << revoked.error().message;
  EXPECT_EQ(*revoked, 2);
  EXPECT_TRUE(stored_grant("g1").revoked_at.has_value());
  EXPECT_TRUE(stored_grant("g2").revoked_at.has_value());
  EXPECT_FALSE(stored_grant("g3").revoked_at.has_value());
  EXPECT_TRUE(stored_token("rt-1").revoked_at.has_value());
  EXPECT_TRUE(stored_token("at-2").revoked_at.has_value());
  EXPECT_FALSE(stored_token("rt-3").revoked_at.has_value());
  EXPECT_EQ(outcome_of(grants().redeem_code(hash("code-1"))), CodeOutcome::kRevoked);
  auto again = grants().revoke_grants_for_session("sid-1");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);
}

// RFC 7592 §2.3: a deregistered client's grants end with it, other clients' stay.
TEST_P(GrantStoreTest, ClientsOfASessionAndRevokingOneClientsGrants) {
  GrantRecord other = grant("g2", "sid-1");
  other.client_id = "other-client";
  ASSERT_TRUE(grants().create_grant(grant("g1", "sid-1"), code("code-1", "g1")));
  ASSERT_TRUE(grants().create_grant(other, std::nullopt));
  const std::array tokens{token("rt-1", TokenKind::kRefresh, "g1"),
                          token("rt-2", TokenKind::kRefresh, "g2")};
  ASSERT_TRUE(grants().insert_tokens(tokens));
  auto told = grants().clients_of_session("sid-1");
  ASSERT_TRUE(told);
  EXPECT_EQ(*told, (std::vector<std::string>{"other-client", "spa"}));
  auto revoked = grants().revoke_grants_for_client("spa");
  ASSERT_TRUE(revoked) << revoked.error().message;
  EXPECT_EQ(*revoked, 1);
  EXPECT_TRUE(stored_grant("g1").revoked_at.has_value());
  EXPECT_FALSE(stored_grant("g2").revoked_at.has_value());
  EXPECT_TRUE(stored_token("rt-1").revoked_at.has_value());
  EXPECT_FALSE(stored_token("rt-2").revoked_at.has_value());
  EXPECT_EQ(outcome_of(grants().redeem_code(hash("code-1"))), CodeOutcome::kRevoked);
  EXPECT_FALSE(grants().revoke_grants_for_client(""));
  // A client whose grants are all revoked is no longer one of the session's.
  EXPECT_EQ(*grants().clients_of_session("sid-1"), std::vector<std::string>{"other-client"});
  EXPECT_TRUE(grants().clients_of_session("no-such-sid")->empty());
}

TEST_P(GrantStoreTest, ListGrantsForSubjectIsLiveGrantsNewestFirst) {
  ASSERT_TRUE(grants().create_grant(grant("old", "s", "alice", 50), std::nullopt));
  clock_.advance(10);
  ASSERT_TRUE(grants().create_grant(grant("mid"), std::nullopt));
  clock_.advance(10);
  ASSERT_TRUE(grants().create_grant(grant("new"), std::nullopt));
  ASSERT_TRUE(grants().create_grant(grant("revoked"), std::nullopt));
  ASSERT_TRUE(grants().create_grant(grant("bobs", "s", "bob"), std::nullopt));
  ASSERT_TRUE(grants().revoke_grant("revoked"));
  auto listed = grants().list_grants_for_subject("alice");
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].id, "new");
  EXPECT_EQ((*listed)[1].id, "mid");
  EXPECT_EQ((*listed)[2].id, "old");
  clock_.advance(30);  // "old" expires
  listed = grants().list_grants_for_subject("alice");
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[1].id, "mid");
}

TEST_P(GrantStoreTest, PurgeDeletesExpiredRowsAndKeepsRevokedGrantsUntilTheyExpire) {
  // g1: expires in 1000 s; code-1 in 60 s, at-1 in 600 s, rt-1 in 3600 s (past its grant).
  ASSERT_TRUE(grants().create_grant(grant("g1", "s", "alice", 1000), code("code-1", "g1", 60)));
  const std::array g1_tokens{token("at-1", TokenKind::kAccess, "g1", 600),
                             token("rt-1", TokenKind::kRefresh, "g1", 3600)};
  ASSERT_TRUE(grants().insert_tokens(g1_tokens));
  // g2: revoked, expires in 5000 s, with a used refresh token that lives as long.
  ASSERT_TRUE(grants().create_grant(grant("g2", "s", "alice", 5000), std::nullopt));
  const std::array g2_tokens{token("rt-2", TokenKind::kRefresh, "g2", 5000)};
  ASSERT_TRUE(grants().insert_tokens(g2_tokens));
  ASSERT_TRUE(grants().revoke_grant("g2"));

  clock_.advance(60);
  auto purged = grants().purge_expired();
  ASSERT_TRUE(purged) << purged.error().message;
  EXPECT_EQ(*purged, 1);  // code-1
  EXPECT_EQ(outcome_of(grants().redeem_code(hash("code-1"))), CodeOutcome::kUnknown);

  clock_.advance(540);
  purged = grants().purge_expired();
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1);  // at-1
  EXPECT_FALSE(token_exists("at-1"));
  EXPECT_TRUE(token_exists("rt-1"));

  clock_.advance(400);  // g1 expires, and rt-1 with it
  purged = grants().purge_expired();
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 2);
  EXPECT_FALSE(token_exists("rt-1"));
  auto g1 = grants().find_grant("g1");
  ASSERT_TRUE(g1);
  EXPECT_FALSE(g1->has_value());
  // The revoked grant and its token are still there, so a reuse is still recognised.
  EXPECT_TRUE(stored_grant("g2").revoked_at.has_value());
  const std::array g2_next{token("rt-x", TokenKind::kRefresh, "g2")};
  auto reuse = grants().rotate_refresh_token(hash("rt-2"), g2_next);
  ASSERT_TRUE(reuse) << reuse.error().message;
  EXPECT_EQ(reuse->outcome, RotateOutcome::kRevoked);

  clock_.advance(4000);
  purged = grants().purge_expired();
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 2);  // rt-2 and g2
  auto g2 = grants().find_grant("g2");
  ASSERT_TRUE(g2);
  EXPECT_FALSE(g2->has_value());
}

TESSERA_ON_BOTH_BACKENDS(GrantStoreTest);

}  // namespace
}  // namespace tessera::store::testing
