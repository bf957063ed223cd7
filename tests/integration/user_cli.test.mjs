// `tessera user create|list|set-password|disable|enable|consents|revoke-consent|sessions|
// revoke-session` (issue 3 Administration, issue 6 session listing) on a data directory and on a
// configuration file's store; the consent and session commands against the store of a running
// `tessera demo`. Runs the built binary named by TESSERA_BIN.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ok, scratchDir, tessera } from '../lib/tessera.mjs';
import { codeFlow, form, startDemo } from '../lib/demo.mjs';

before(() => assert.ok(BIN, 'TESSERA_BIN must name the tessera binary'));
const scratch = scratchDir('tessera-user-cli-');

let dirs = 0;
function dataDir() {
  const dir = join(scratch.path, `data${dirs++}`);
  mkdirSync(dir);
  return dir;
}

const list = (dir) => JSON.parse(ok(['user', 'list', '--json', '--data-dir', dir]));

describe('user create and list', () => {
  test('creates users with a password from stdin and lists them in JSON', () => {
    const dir = dataDir();
    ok(['user', 'create', 'Alice', '--password-stdin', '--email', 'alice@example.com',
      '--name', 'Alice Liddell', '--data-dir', dir], 'wonderland\n');
    ok(['user', 'create', 'bob', '--password-stdin', '--data-dir', dir], 'builder');
    const users = list(dir);
    assert.deepEqual(users.map((u) => u.username), ['Alice', 'bob']);
    const alice = users[0];
    assert.equal(alice.disabled, false);
    assert.equal(alice.totp, false);
    assert.deepEqual(alice.profile,
      { name: 'Alice Liddell', email: 'alice@example.com', email_verified: false });
    assert.ok(alice.id.length >= 20);
    assert.ok(!JSON.stringify(users).includes('wonderland'), 'no password in the listing');
    assert.ok(!JSON.stringify(users).includes('argon2'), 'no hash in the listing');
    const table = ok(['user', 'list', '--data-dir', dir]);
    assert.match(table, /^Alice\s+\S+\s+active\s+no$/m);
  });

  test('generates and prints a password when none is given', () => {
    const dir = dataDir();
    const out = JSON.parse(ok(['user', 'create', 'carol', '--json', '--data-dir', dir]));
    assert.equal(out.username, 'carol');
    assert.ok(out.password.length >= 20);
  });

  test('a duplicate username, in any case, is refused and changes nothing', () => {
    const dir = dataDir();
    ok(['user', 'create', 'alice', '--password-stdin', '--data-dir', dir], 'pw1');
    const r = tessera(['user', 'create', 'ALICE', '--password-stdin', '--data-dir', dir], 'pw2');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /already taken/);
    assert.equal(list(dir).length, 1);
  });

  test('--totp prints the secret and otpauth URI once, sealed with the instance key', () => {
    const dir = dataDir();
    const keyFile = scratch.write(randomBytes(32).toString('base64url'));
    const out = JSON.parse(ok(['user', 'create', 'dave', '--totp', '--json',
      '--secret-key-file', keyFile, '--data-dir', dir]));
    assert.match(out.totp_secret, /^[A-Z2-7]{32}$/);
    assert.equal(out.otpauth_uri, `otpauth://totp/Tessera:dave?secret=${out.totp_secret}` +
      '&issuer=Tessera&algorithm=SHA1&digits=6&period=30');
    assert.equal(list(dir)[0].totp, true);
    assert.ok(!JSON.stringify(list(dir)).includes(out.totp_secret));
  });

  test('--totp without an instance key fails before creating anything', () => {
    const dir = dataDir();
    const r = tessera(['user', 'create', 'erin', '--totp', '--data-dir', dir,
      '--secret-key-file', join(scratch.path, 'missing.key')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /secret key/);
    assert.equal(list(dir).length, 0);
  });

  test('works on the store named by --config', () => {
    const db = join(dataDir(), 'from-config.db');
    const config = scratch.write(`store:\n  driver: sqlite\n  path: ${db}\n`);
    ok(['user', 'create', 'frank', '--password-stdin', '--config', config], 'pw');
    const users = JSON.parse(ok(['user', 'list', '--json', '--config', config]));
    assert.deepEqual(users.map((u) => u.username), ['frank']);
  });
});

describe('user disable, enable and set-password', () => {
  test('disable and enable flip the flag of that user only', () => {
    const dir = dataDir();
    ok(['user', 'create', 'alice', '--password-stdin', '--data-dir', dir], 'pw');
    ok(['user', 'create', 'bob', '--password-stdin', '--data-dir', dir], 'pw');
    ok(['user', 'disable', 'ALICE', '--data-dir', dir]);
    assert.deepEqual(list(dir).map((u) => u.disabled), [true, false]);
    ok(['user', 'enable', 'alice', '--data-dir', dir]);
    assert.deepEqual(list(dir).map((u) => u.disabled), [false, false]);
  });

  test('set-password reads stdin and needs an existing user', () => {
    const dir = dataDir();
    ok(['user', 'create', 'alice', '--password-stdin', '--data-dir', dir], 'old');
    const before = list(dir)[0].updated_at;
    ok(['user', 'set-password', 'alice', '--password-stdin', '--data-dir', dir], 'new\n');
    assert.ok(list(dir)[0].updated_at >= before);
    const unknown = tessera(['user', 'set-password', 'nobody', '--password-stdin',
      '--data-dir', dir], 'pw');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no such user/);
    const noStdin = tessera(['user', 'set-password', 'alice', '--data-dir', dir]);
    assert.equal(noStdin.status, 2);
  });
});

describe('bad input', () => {
  test('unacceptable usernames, passwords and stores exit non-zero with a reason', () => {
    const dir = dataDir();
    const cases = [
      [['user', 'create', 'not a name', '--password-stdin', '--data-dir', dir], 'pw', 2],
      [['user', 'create', 'alice', '--password-stdin', '--data-dir', dir], '', 2],
      [['user', 'create', 'alice', '--password-stdin', '--data-dir', dir], 'x'.repeat(2000), 2],
      [['user', 'list'], '', 2],
      [['user', 'list', '--data-dir', join(dir, 'missing')], '', 2],
      [['user', 'list', '--config', join(dir, 'missing.yaml')], '', 2],
      [['user', 'disable', 'nobody', '--data-dir', dir], '', 1],
    ];
    for (const [args, input, status] of cases) {
      const r = tessera(args, input);
      assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^tessera user \S+: .+/, args.join(' '));
    }
    assert.equal(list(dir).length, 0);
  });
});

describe('user consents and revoke-consent, on the store of a running demo', () => {
  const demo = startDemo('tessera-user-consent-');
  const consents = (user) =>
    JSON.parse(ok(['user', 'consents', user, '--json', '--data-dir', demo.dir]));
  const refresh = (refreshToken) => form(demo.metadata.token_endpoint, {
    grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'spa',
  });

  test('revoke-consent withdraws the consent and kills the grant; consent is asked again', async () => {
    const alice = demo.ready.users.alice;
    const scope = 'openid offline_access invoices:read';
    assert.deepEqual(consents('alice'), []);
    const first = await codeFlow(demo, alice, { scope });
    assert.deepEqual(first.pages, ['login', 'consent']);
    assert.ok(first.tokens.refresh_token, JSON.stringify(first.tokens));

    const listed = consents('alice');
    assert.equal(listed.length, 1);
    assert.equal(listed[0].client_id, 'spa');
    assert.deepEqual([...listed[0].scopes].sort(), scope.split(' ').sort());
    assert.equal(typeof listed[0].granted_at, 'number');
    assert.ok(Math.abs(listed[0].granted_at - Date.now() / 1000) < 600, `${listed[0].granted_at}`);
    assert.match(ok(['user', 'consents', 'alice', '--data-dir', demo.dir]),
      /^spa\s+\d+\s+\S*openid/m);

    // Before the revocation the refresh token works (and rotates, RFC 9700 §4.14.2).
    const rotated = await refresh(first.tokens.refresh_token);
    assert.equal(rotated.status, 200, rotated.text);

    const out = ok(['user', 'revoke-consent', 'alice', 'spa', '--data-dir', demo.dir]);
    assert.match(out, /consent of alice for spa revoked; 1 grant\(s\) revoked/);
    assert.deepEqual(consents('alice'), []);

    // The grant is gone: its refresh token is refused (RFC 6749 §5.2 invalid_grant).
    const refused = await refresh(rotated.body.refresh_token);
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.body.error, 'invalid_grant');

    // Same browser, session still alive: no login, but the consent page again.
    const again = await codeFlow(demo, alice, { scope, jar: first.jar });
    assert.deepEqual(again.pages, ['consent']);
    assert.equal(consents('alice')[0].client_id, 'spa');
  });

  test('an unknown user, or a client without consent, exits 1 and revokes nothing', async () => {
    const alice = demo.ready.users.alice;
    const tokens = (await codeFlow(demo, alice)).tokens;
    const before = consents('alice');
    const cases = [
      [['user', 'revoke-consent', 'nobody', 'spa'], /no such user: nobody/],
      [['user', 'revoke-consent', 'alice', 'service'], /alice has no consent for client service/],
      [['user', 'revoke-consent', 'alice', 'no-such-client'], /no consent for client no-such-client/],
      [['user', 'consents', 'nobody'], /no such user: nobody/],
    ];
    for (const [args, message] of cases) {
      const r = tessera([...args, '--data-dir', demo.dir]);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.deepEqual(consents('alice'), before);
    const still = await refresh(tokens.refresh_token);
    assert.equal(still.status, 200, still.text);
  });
  test('sessions lists the browser sessions; revoke-session ends one and revokes its grants', async () => {
    const alice = demo.ready.users.alice;
    const sessions = () => JSON.parse(ok(['user', 'sessions', 'alice', '--json', '--data-dir', demo.dir]));
    ok(['user', 'revoke-session', 'alice', '--all', '--data-dir', demo.dir]);
    assert.deepEqual(sessions(), []);
    // Two browsers, two sessions, a grant in each.
    const one = await codeFlow(demo, alice);
    const two = await codeFlow(demo, alice);
    const listed = sessions();
    assert.equal(listed.length, 2);
    for (const s of listed) {
      assert.match(s.sid, /^\S{8,}$/);
      assert.deepEqual(s.amr, ['pwd']);
      assert.ok(s.expires_at > s.created_at);
      assert.equal(s.id_sha256, undefined, 'no cookie hash in the listing');
    }
    assert.match(ok(['user', 'sessions', 'alice', '--data-dir', demo.dir]), /^SID\s+CREATED_AT/m);
    // The session of the second browser: the one whose grant dies with it.
    const before = new Set(listed.map((s) => s.sid));
    const three = await codeFlow(demo, alice);
    const newest = sessions().find((s) => !before.has(s.sid));
    assert.ok(newest, 'a third session');
    // A sid is base64url: after `--`, one that begins with '-' is not read as an option.
    const out = ok(['user', 'revoke-session', '--data-dir', demo.dir, '--', 'alice', newest.sid]);
    assert.match(out, /^1 session\(s\) of alice ended; 1 grant\(s\) revoked$/m);
    assert.equal((await refresh(three.tokens.refresh_token)).body.error, 'invalid_grant');
    assert.equal((await refresh(one.tokens.refresh_token)).status, 200, 'other sessions live on');
    assert.equal(sessions().length, 2);
    // The ended browser signs in again; the others do not.
    assert.deepEqual((await codeFlow(demo, alice, { jar: three.jar })).pages, ['login']);
    assert.deepEqual((await codeFlow(demo, alice, { jar: two.jar })).pages, []);
    // Unknown session, no argument: refused.
    const unknown = tessera(['user', 'revoke-session', 'alice', 'no-such-sid', '--data-dir', demo.dir]);
    assert.equal(unknown.status, 1, unknown.stderr);
    assert.match(unknown.stderr, /alice has no session no-such-sid/);
    assert.equal(tessera(['user', 'revoke-session', 'alice', '--data-dir', demo.dir]).status, 2);
    // --all ends every one.
    assert.match(ok(['user', 'revoke-session', 'alice', '--all', '--data-dir', demo.dir]),
      /^3 session\(s\) of alice ended; [0-9]+ grant\(s\) revoked$/m);
    assert.deepEqual(sessions(), []);
    assert.equal((await refresh(one.tokens.refresh_token)).body.error, 'invalid_grant');
  });

  // RFC 9700 §4.14.2: disabling an account or changing its password ends its sessions and
  // grants; and a disabled user's remaining tokens issue nothing.
  test('disable and set-password sign the user out everywhere', async () => {
    const bob = { ...demo.ready.users.bob };
    const first = await codeFlow(demo, bob);
    assert.ok(first.tokens.refresh_token, JSON.stringify(first.tokens));
    const out = ok(['user', 'disable', 'bob', '--data-dir', demo.dir]);
    assert.match(out, /bob disabled; signed out everywhere, [1-9]\d* grant\(s\) revoked/);
    const refused = await refresh(first.tokens.refresh_token);
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.body.error, 'invalid_grant');
    ok(['user', 'enable', 'bob', '--data-dir', demo.dir]);
    // Re-enabling does not bring the revoked grant back.
    assert.equal((await refresh(first.tokens.refresh_token)).status, 400);

    const second = await codeFlow(demo, bob);
    const changed = ok(['user', 'set-password', 'bob', '--password-stdin', '--data-dir', demo.dir],
      bob.password);
    assert.match(changed, /password of bob changed; signed out everywhere, [1-9]\d* grant\(s\) revoked/);
    assert.equal((await refresh(second.tokens.refresh_token)).status, 400);
  });
});
