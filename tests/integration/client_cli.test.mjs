// `tessera client create|list|show|update|delete` (issue 3, Administration) on a data directory
// and on a configuration file's store; secrets printed once and accepted by a running server.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, freePort, ok, scratchDir, startTessera, tessera, waitFor } from '../lib/tessera.mjs';

before(() => assert.ok(BIN, 'TESSERA_BIN must name the tessera binary'));
const scratch = scratchDir('tessera-client-cli-');

let dirs = 0;
function dataDir() {
  const dir = join(scratch.path, `data${dirs++}`);
  mkdirSync(dir);
  return dir;
}

const list = (dir) => JSON.parse(ok(['client', 'list', '--json', '--data-dir', dir]));
const show = (dir, id) => JSON.parse(ok(['client', 'show', id, '--json', '--data-dir', dir]));
const create = (dir, ...args) =>
  JSON.parse(ok(['client', 'create', ...args, '--json', '--data-dir', dir]));

// Runs `tessera ...`, which must fail with `status` and a `tessera client <sub>: reason` line.
function fails(args, status, reason) {
  const r = tessera(args);
  assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, reason, args.join(' '));
  return r;
}

function publicJwk() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    public: { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' },
    private: { ...privateKey.export({ format: 'jwk' }), kid: 'k1' },
  };
}

describe('client create', () => {
  test('a confidential client gets a generated secret, printed once and stored hashed', () => {
    const dir = dataDir();
    const out = create(dir, '--id', 'billing', '--scope', 'invoices:read invoices:write',
      '--scope', 'invoices:read', '--audience', 'urn:tessera:api:invoices');
    assert.equal(out.client_id, 'billing');
    assert.equal(out.client_type, 'confidential');
    assert.equal(out.token_endpoint_auth_method, 'client_secret_basic');
    assert.deepEqual(out.grant_types, ['client_credentials']);
    assert.equal(out.scope, 'invoices:read invoices:write');
    assert.deepEqual(out.audiences, ['urn:tessera:api:invoices']);
    assert.equal(out.access_token_format, 'jwt');
    assert.equal(out.access_token_lifetime, 300);
    assert.equal(out.refresh_token_lifetime, 86400);
    assert.equal(out.skip_consent, false);
    assert.equal(out.may_impersonate, false);
    assert.match(out.client_secret, /^[A-Za-z0-9_-]{43}$/);

    const listed = ok(['client', 'list', '--json', '--data-dir', dir]);
    const shown = ok(['client', 'show', 'billing', '--json', '--data-dir', dir]);
    const text = ok(['client', 'show', 'billing', '--data-dir', dir]);
    for (const printed of [listed, shown, text]) {
      assert.ok(!printed.includes(out.client_secret), 'the secret is shown only once');
      assert.ok(!printed.includes('secret_sha256'));
    }
    const { client_secret: _, ...stored } = out;
    assert.deepEqual(show(dir, 'billing'), stored);
    assert.deepEqual(list(dir), [stored]);
  });

  test('the text output names the secret once and says it is not kept', () => {
    const dir = dataDir();
    const out = ok(['client', 'create', '--id', 'svc', '--data-dir', dir]);
    const secrets = out.match(/^client_secret:\s+([A-Za-z0-9_-]{43})$/gm);
    assert.equal(secrets.length, 1);
    assert.match(out, /shown once/);
    const table = ok(['client', 'list', '--data-dir', dir]);
    assert.match(table, /^svc\s+confidential\s+client_secret_basic\s+client_credentials$/m);
  });

  test('every metadata option is stored', () => {
    const dir = dataDir();
    const out = create(dir, '--id', 'web', '--auth-method', 'client_secret_post',
      '--grant-type', 'authorization_code', '--grant-type', 'refresh_token',
      '--grant-type', 'urn:ietf:params:oauth:grant-type:token-exchange',
      '--redirect-uri', 'https://app.example/cb', '--redirect-uri', 'http://127.0.0.1:8400/cb',
      '--post-logout-redirect-uri', 'https://app.example/bye',
      '--scope', 'openid', '--scope', 'profile email', '--audience', 'https://api.example',
      '--audience', 'urn:b', '--access-token-format', 'opaque', '--access-token-lifetime', '900',
      '--refresh-token-lifetime', '3600', '--skip-consent', '--may-impersonate');
    assert.equal(out.token_endpoint_auth_method, 'client_secret_post');
    assert.deepEqual(out.grant_types, ['authorization_code', 'refresh_token',
      'urn:ietf:params:oauth:grant-type:token-exchange']);
    assert.deepEqual(out.redirect_uris, ['https://app.example/cb', 'http://127.0.0.1:8400/cb']);
    assert.deepEqual(out.post_logout_redirect_uris, ['https://app.example/bye']);
    assert.equal(out.scope, 'openid profile email');
    assert.deepEqual(out.audiences, ['https://api.example', 'urn:b']);
    assert.equal(out.access_token_format, 'opaque');
    assert.equal(out.access_token_lifetime, 900);
    assert.equal(out.refresh_token_lifetime, 3600);
    assert.equal(out.skip_consent, true);
    assert.equal(out.may_impersonate, true);
    assert.ok(out.client_secret);
    const { client_secret: _, ...stored } = out;
    assert.deepEqual(show(dir, 'web'), stored);
  });

  test('a public client authenticates with none, has no secret and defaults to the code flow', () => {
    const dir = dataDir();
    const out = create(dir, '--id', 'spa', '--type', 'public',
      '--redirect-uri', 'com.example.app:/oauth2redirect', '--redirect-uri', 'http://[::1]/cb');
    assert.equal(out.token_endpoint_auth_method, 'none');
    assert.deepEqual(out.grant_types, ['authorization_code', 'refresh_token']);
    assert.equal(out.client_secret, undefined);
  });

  test('a private_key_jwt client stores the public keys of --jwks-file and gets no secret', () => {
    const dir = dataDir();
    const key = publicJwk();
    const out = create(dir, '--id', 'backend', '--auth-method', 'private_key_jwt',
      '--jwks-file', scratch.write({ keys: [key.public] }));
    assert.equal(out.token_endpoint_auth_method, 'private_key_jwt');
    assert.equal(out.client_secret, undefined);
    assert.equal(out.jwks.keys.length, 1);
    assert.equal(out.jwks.keys[0].kid, 'k1');
    assert.equal(out.jwks.keys[0].x, key.public.x);
    // A single JWK is accepted too.
    const single = create(dir, '--id', 'backend2', '--auth-method', 'private_key_jwt',
      '--jwks-file', scratch.write(key.public));
    assert.equal(single.jwks.keys[0].kid, 'k1');
  });

  test('a private_key_jwt client may name its keys by --jwks-uri (https, or http on loopback), never with --jwks-file', () => {
    const dir = dataDir();
    const out = create(dir, '--id', 'by-uri', '--auth-method', 'private_key_jwt',
      '--jwks-uri', 'https://rp.example/jwks');
    assert.equal(out.jwks_uri, 'https://rp.example/jwks');
    assert.equal(out.jwks, undefined);
    assert.equal(create(dir, '--id', 'local', '--auth-method', 'private_key_jwt',
      '--jwks-uri', 'http://127.0.0.1:8080/jwks').jwks_uri, 'http://127.0.0.1:8080/jwks');
    fails(['client', 'create', '--id', 'x', '--auth-method', 'private_key_jwt', '--jwks-uri',
      'http://rp.example/jwks', '--data-dir', dir], 2, /--jwks-uri: jwks_uri must use https/);
    fails(['client', 'create', '--id', 'y', '--auth-method', 'private_key_jwt', '--jwks-uri',
      'https://rp.example/jwks', '--jwks-file', scratch.write({ keys: [publicJwk().public] }),
      '--data-dir', dir], 2, /one or the other/);
    // Switching to a --jwks-file drops the URI.
    ok(['client', 'update', 'by-uri', '--jwks-file', scratch.write({ keys: [publicJwk().public] }),
      '--data-dir', dir]);
    assert.equal(show(dir, 'by-uri').jwks_uri, undefined);
  });

  test('display metadata (RFC 7591 §2): set, shown, replaced and removed', () => {
    const dir = dataDir();
    const out = create(dir, '--id', 'shown', '--name', 'Invoices App', '--client-uri',
      'https://app.example/', '--logo-uri', 'https://cdn.example/l.png', '--policy-uri',
      'https://app.example/privacy', '--tos-uri', 'https://app.example/terms',
      '--contact', 'ops@app.example', '--contact', 'sec@app.example');
    assert.equal(out.client_name, 'Invoices App');
    assert.equal(out.client_uri, 'https://app.example/');
    assert.equal(out.logo_uri, 'https://cdn.example/l.png');
    assert.equal(out.policy_uri, 'https://app.example/privacy');
    assert.equal(out.tos_uri, 'https://app.example/terms');
    assert.deepEqual(out.contacts, ['ops@app.example', 'sec@app.example']);
    // The text form names them too.
    const text = ok(['client', 'show', 'shown', '--data-dir', dir]);
    assert.match(text, /name: +Invoices App/);
    assert.match(text, /contacts: +ops@app\.example sec@app\.example/);
    // Update replaces what is given and keeps the rest; empty removes.
    ok(['client', 'update', 'shown', '--name', '', '--contact', 'new@app.example', '--data-dir', dir]);
    const after = show(dir, 'shown');
    assert.equal(after.client_name, undefined);
    assert.deepEqual(after.contacts, ['new@app.example']);
    assert.equal(after.tos_uri, 'https://app.example/terms');
    fails(['client', 'create', '--id', 'bad', '--policy-uri', 'ftp://app.example/p', '--data-dir',
      dir], 2, /policy_uri must be an absolute http\(s\) URL/);
    fails(['client', 'create', '--id', 'long', '--name', 'n'.repeat(201), '--data-dir', dir], 2,
      /client_name must be at most 200 bytes/);
  });

  test('without --id a random client_id is generated', () => {
    const dir = dataDir();
    const a = create(dir);
    const b = create(dir);
    assert.match(a.client_id, /^[A-Za-z0-9_-]{16,}$/);
    assert.notEqual(a.client_id, b.client_id);
  });

  test('works on the store named by --config', () => {
    const db = join(dataDir(), 'from-config.db');
    const config = scratch.write(`store:\n  driver: sqlite\n  path: ${db}\n`);
    ok(['client', 'create', '--id', 'cfg', '--config', config]);
    const clients = JSON.parse(ok(['client', 'list', '--json', '--config', config]));
    assert.deepEqual(clients.map((c) => c.client_id), ['cfg']);
  });
});

describe('redirect URIs', () => {
  test('https, loopback http and private-use schemes with a dot are accepted', () => {
    const dir = dataDir();
    const accepted = ['https://app.example/cb', 'https://app.example:8443/cb?x=1',
      'http://127.0.0.1/cb', 'http://127.0.0.1:51004/cb', 'http://[::1]:8080/',
      'http://localhost:3000/cb', 'com.example.app:/oauth2redirect', 'com.example.app://cb'];
    let n = 0;
    for (const uri of accepted) {
      create(dir, '--id', `ok${n++}`, '--type', 'public', '--redirect-uri', uri);
    }
    assert.equal(list(dir).length, accepted.length);
  });

  test('relative, fragment, plain http to a remote host and dotless schemes are refused', () => {
    const dir = dataDir();
    const refused = [
      ['/cb', /absolute URI/],
      ['cb', /absolute URI/],
      ['https://app.example/cb#frag', /fragment/],
      ['http://app.example/cb', /https.*loopback/],
      ['http://127.0.0.1.evil.example/cb', /https.*loopback/],
      ['https:///cb', /host/],
      ['https://user@app.example/cb', /user information/],
      ['javascript:alert(1)', /private-use scheme/],
      ['myapp:/cb', /private-use scheme/],
      ['https://app.example/a b', /spaces/],
    ];
    for (const [uri, reason] of refused) {
      fails(['client', 'create', '--id', 'x', '--type', 'public', '--redirect-uri', uri,
        '--data-dir', dir], 2, reason);
      fails(['client', 'create', '--id', 'y', '--post-logout-redirect-uri', uri,
        '--data-dir', dir], 2, reason);
    }
    assert.equal(list(dir).length, 0);
  });
});

describe('client update, show and delete', () => {
  test('update changes only the given fields', () => {
    const dir = dataDir();
    const before = create(dir, '--id', 'svc', '--scope', 'a b', '--audience', 'urn:x',
      '--access-token-lifetime', '600');
    const out = JSON.parse(ok(['client', 'update', 'svc', '--scope', 'c', '--skip-consent',
      '--access-token-format', 'opaque', '--json', '--data-dir', dir]));
    assert.equal(out.client_secret, undefined, 'no new secret unless asked for');
    assert.equal(out.scope, 'c');
    assert.equal(out.skip_consent, true);
    assert.equal(out.access_token_format, 'opaque');
    assert.deepEqual(out.audiences, ['urn:x']);
    assert.equal(out.access_token_lifetime, 600);
    assert.equal(out.created_at, before.created_at);
    assert.deepEqual(show(dir, 'svc'), out);

    const again = JSON.parse(ok(['client', 'update', 'svc', '--no-skip-consent',
      '--may-impersonate', '--grant-type', 'client_credentials', '--grant-type',
      'urn:ietf:params:oauth:grant-type:token-exchange', '--refresh-token-lifetime', '60',
      '--json', '--data-dir', dir]));
    assert.equal(again.skip_consent, false);
    assert.equal(again.may_impersonate, true);
    assert.equal(again.refresh_token_lifetime, 60);
    assert.deepEqual(again.grant_types,
      ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange']);
    assert.equal(again.scope, 'c');
  });

  test('update --rotate-secret prints a new secret once', () => {
    const dir = dataDir();
    const first = create(dir, '--id', 'svc');
    const rotated = JSON.parse(ok(['client', 'update', 'svc', '--rotate-secret', '--json',
      '--data-dir', dir]));
    assert.match(rotated.client_secret, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(rotated.client_secret, first.client_secret);
    assert.ok(!ok(['client', 'show', 'svc', '--json', '--data-dir', dir])
      .includes(rotated.client_secret));
    // Only a dynamically registered client has a registration access token to replace
    // (tests/interop/oauth_registration.test.mjs replaces one).
    fails(['client', 'update', 'svc', '--rotate-registration-token', '--data-dir', dir], 1,
      /not registered dynamically/);
  });

  test('switching between a secret and private_key_jwt issues or drops the secret', () => {
    const dir = dataDir();
    create(dir, '--id', 'svc');
    const jwks = scratch.write({ keys: [publicJwk().public] });
    const toJwt = JSON.parse(ok(['client', 'update', 'svc', '--auth-method', 'private_key_jwt',
      '--jwks-file', jwks, '--json', '--data-dir', dir]));
    assert.equal(toJwt.token_endpoint_auth_method, 'private_key_jwt');
    assert.equal(toJwt.client_secret, undefined);
    assert.equal(toJwt.jwks.keys.length, 1);
    const back = JSON.parse(ok(['client', 'update', 'svc', '--auth-method', 'client_secret_post',
      '--json', '--data-dir', dir]));
    assert.match(back.client_secret, /^[A-Za-z0-9_-]{43}$/, 'a new secret, since none existed');
    // The keys stay: they verify the client's signed request objects (RFC 9101).
    assert.equal(back.jwks.keys.length, 1);
  });

  test('a client that authenticates with a secret may register request object keys', () => {
    const dir = dataDir();
    const key = publicJwk();
    const out = JSON.parse(ok(['client', 'create', '--id', 'jar', '--jwks-file',
      scratch.write({ keys: [key.public] }), '--json', '--data-dir', dir]));
    assert.equal(out.token_endpoint_auth_method, 'client_secret_basic');
    assert.match(out.client_secret, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(out.jwks.keys[0].x, key.public.x);
  });

  test('delete removes the client', () => {
    const dir = dataDir();
    create(dir, '--id', 'a');
    create(dir, '--id', 'b');
    assert.match(ok(['client', 'delete', 'a', '--data-dir', dir]), /deleted client a/);
    assert.deepEqual(list(dir).map((c) => c.client_id), ['b']);
    fails(['client', 'delete', 'a', '--data-dir', dir], 1, /^tessera client delete: no such client: a/);
  });
});

describe('initial access tokens (RFC 7591 §3)', () => {
  test('create prints the token once, list shows what is left, revoke removes it', () => {
    const dir = dataDir();
    const made = JSON.parse(ok(['client', 'initial-token', 'create', '--uses', '3', '--expires-in', '600',
      '--label', 'partner onboarding', '--json', '--data-dir', dir]));
    assert.match(made.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(made.uses_left, 3);
    assert.equal(made.label, 'partner onboarding');
    assert.equal(made.expires_at - made.created_at, 600);
    const listed = ok(['client', 'initial-token', 'list', '--json', '--data-dir', dir]);
    assert.ok(!listed.includes(made.token), 'the token is shown only once');
    const { token: _, ...stored } = made;
    assert.deepEqual(JSON.parse(listed), [stored]);
    const text = ok(['client', 'initial-token', 'create', '--data-dir', dir]);
    assert.match(text, /^token: [A-Za-z0-9_-]{43}$/m);
    assert.match(text, /shown once/);
    assert.equal(JSON.parse(ok(['client', 'initial-token', 'list', '--json', '--data-dir', dir])).length, 2);
    assert.match(ok(['client', 'initial-token', 'revoke', made.id, '--data-dir', dir]), /revoked/);
    assert.equal(JSON.parse(ok(['client', 'initial-token', 'list', '--json', '--data-dir', dir])).length, 1);
    fails(['client', 'initial-token', 'revoke', made.id, '--data-dir', dir], 1,
      /^tessera client initial-token revoke: no such initial access token/);
    fails(['client', 'initial-token', 'create', '--uses', '0', '--data-dir', dir], 2, /--uses/);
    fails(['client', 'initial-token', 'create', '--expires-in', '5', '--data-dir', dir], 2, /--expires-in/);
  });
});

describe('bad input', () => {
  test('usage errors exit 2 and failures exit 1, with a reason, and change nothing', () => {
    const dir = dataDir();
    create(dir, '--id', 'taken');
    const key = publicJwk();
    const cases = [
      [['create', '--id', 'taken'], 1, /exists/],
      [['show', 'nobody'], 1, /no such client: nobody/],
      [['update', 'nobody', '--scope', 'a'], 1, /no such client: nobody/],
      [['create', '--id', 'has space'], 2, /--id/],
      [['create', '--type', 'secret'], 2, /--type secret/],
      [['create', '--auth-method', 'client_secret_jwt'], 2, /--auth-method client_secret_jwt/],
      [['create', '--auth-method', 'none'], 2, /confidential client must authenticate/],
      [['create', '--type', 'public', '--auth-method', 'client_secret_basic'], 2, /public client/],
      [['create', '--type', 'public', '--grant-type', 'client_credentials'], 2,
        /confidential clients only/],
      [['create', '--grant-type', 'password'], 2, /--grant-type password/],
      [['create', '--grant-type', 'authorization_code'], 2, /authorization_code needs at least one redirect URI/],
      [['create', '--scope', 'a"b'], 2, /not a valid scope/],
      [['create', '--audience', ''], 2, /--audience/],
      [['create', '--access-token-format', 'paseto'], 2, /jwt or opaque/],
      [['create', '--access-token-lifetime', '0'], 2, /--access-token-lifetime/],
      [['create', '--access-token-lifetime', '86401'], 2, /--access-token-lifetime/],
      [['create', '--refresh-token-lifetime', '-5'], 2, /--refresh-token-lifetime/],
      [['create', '--auth-method', 'private_key_jwt'], 2, /needs --jwks-file/],
      [['create', '--jwks-file', scratch.write({ keys: [{ kty: 'oct', k: 'AAAA' }] })], 2,
        /symmetric \(oct\) keys are not accepted/],
      [['create', '--auth-method', 'private_key_jwt', '--jwks-file',
        scratch.write({ keys: [key.private] })], 2, /private key/],
      [['create', '--auth-method', 'private_key_jwt', '--jwks-file',
        scratch.write({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] })], 2, /symmetric/],
      [['create', '--auth-method', 'private_key_jwt', '--jwks-file', scratch.write('not json')],
        2, /not a JWK/],
      [['create', '--auth-method', 'private_key_jwt', '--jwks-file',
        join(scratch.path, 'missing.json')], 2, /cannot read/],
      [['update', 'taken', '--rotate-secret', '--auth-method', 'private_key_jwt', '--jwks-file',
        scratch.write({ keys: [key.public] })], 2, /--rotate-secret/],
      [['update', 'taken', '--skip-consent', '--no-skip-consent'], 2, /excludes/],
    ];
    for (const [args, status, reason] of cases) {
      const r = fails(['client', ...args, '--data-dir', dir], status, reason);
      if (!/excludes/.test(String(reason))) {
        assert.match(r.stderr, /^tessera client \S+: .+/, args.join(' '));
      }
    }
    const clients = list(dir);
    assert.deepEqual(clients.map((c) => c.client_id), ['taken']);
    assert.equal(clients[0].token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(clients[0].skip_consent, false);
  });

  test('a missing store, an unknown option and a missing argument are usage errors', () => {
    const dir = dataDir();
    fails(['client', 'list'], 2, /--config FILE or --data-dir DIR/);
    fails(['client', 'list', '--data-dir', join(dir, 'missing')], 2, /no such data directory/);
    fails(['client', 'list', '--config', join(dir, 'missing.yaml')], 2, /configuration error/);
    fails(['client', 'create', '--bogus', '--data-dir', dir], 2, /--bogus/);
    fails(['client', 'show', '--data-dir', dir], 2, /client_id/);
    fails(['client', 'create', '--access-token-lifetime', 'soon', '--data-dir', dir], 2, /soon/);
  });
});

describe('a running server', () => {
  const tokenRequest = (issuer, id, secret, method = 'basic') => {
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    if (method === 'basic') {
      headers.authorization = 'Basic ' + Buffer.from(
        `${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
    } else {
      body.set('client_id', id);
      body.set('client_secret', secret);
    }
    return fetch(issuer + '/token', { method: 'POST', headers, body });
  };

  test('accepts the printed secret, not the rotated-away one, and sees new clients', async (t) => {
    const dir = dataDir();
    const rotated = create(dir, '--id', 'rotated', '--scope', 'invoices:read',
      '--audience', 'urn:tessera:api:invoices');
    const fresh = JSON.parse(ok(['client', 'update', 'rotated', '--rotate-secret', '--json',
      '--data-dir', dir]));

    const port = await freePort();
    const server = startTessera(['demo', '--port', String(port), '--data-dir', dir]);
    t.after(() => server.child.kill('SIGTERM'));
    const line = JSON.parse(
      (await waitFor(() => server.out().includes('\n') && server.out(), 'readiness line')).trim());

    const old = await tokenRequest(line.issuer, 'rotated', rotated.client_secret);
    assert.equal(old.status, 401, 'the rotated-away secret no longer works');
    assert.equal((await old.json()).error, 'invalid_client');
    const good = await tokenRequest(line.issuer, 'rotated', fresh.client_secret);
    assert.equal(good.status, 200, await good.clone().text());
    const token = await good.json();
    assert.equal(token.token_type, 'Bearer');
    const claims = JSON.parse(Buffer.from(token.access_token.split('.')[1], 'base64url'));
    assert.equal(claims.client_id, 'rotated');
    assert.equal(claims.scope, 'invoices:read');

    // Created while the server runs: usable at once (unknown ids are not cached).
    const post = create(dir, '--id', 'poster', '--auth-method', 'client_secret_post',
      '--audience', 'urn:tessera:api:invoices');
    const viaPost = await tokenRequest(line.issuer, 'poster', post.client_secret, 'post');
    assert.equal(viaPost.status, 200, await viaPost.clone().text());
    const wrong = await tokenRequest(line.issuer, 'poster', rotated.client_secret, 'post');
    assert.equal(wrong.status, 401);
  });
});

describe('DPoP-bound access tokens (RFC 9449 §5.2 dpop_bound_access_tokens)', () => {
  test('off by default; create --dpop-bound-access-tokens stores true, shown by client show', () => {
    const dir = dataDir();
    const plain = create(dir, '--id', 'plain');
    assert.equal(plain.dpop_bound_access_tokens, false);
    assert.equal(show(dir, 'plain').dpop_bound_access_tokens, false);

    const out = create(dir, '--id', 'bound', '--dpop-bound-access-tokens');
    assert.equal(out.dpop_bound_access_tokens, true);
    const { client_secret: _, ...stored } = out;
    assert.deepEqual(show(dir, 'bound'), stored);
    assert.equal(show(dir, 'bound').dpop_bound_access_tokens, true);
    assert.equal(list(dir).find((c) => c.client_id === 'bound').dpop_bound_access_tokens, true);
    assert.match(ok(['client', 'show', 'bound', '--data-dir', dir]),
      /^dpop-bound access tokens:\s+yes$/m);
    assert.match(ok(['client', 'show', 'plain', '--data-dir', dir]),
      /^dpop-bound access tokens:\s+no$/m);

    // A public client may ask for it too.
    const spa = create(dir, '--id', 'spa', '--type', 'public', '--redirect-uri',
      'https://app.example/cb', '--dpop-bound-access-tokens');
    assert.equal(spa.dpop_bound_access_tokens, true);
  });

  test('update --no-dpop-bound-access-tokens turns it off, --dpop-bound-access-tokens on again', () => {
    const dir = dataDir();
    create(dir, '--id', 'svc', '--scope', 'a', '--dpop-bound-access-tokens');
    const off = JSON.parse(ok(['client', 'update', 'svc', '--no-dpop-bound-access-tokens',
      '--json', '--data-dir', dir]));
    assert.equal(off.dpop_bound_access_tokens, false);
    assert.equal(off.scope, 'a', 'nothing else changes');
    assert.equal(off.client_secret, undefined);
    assert.equal(show(dir, 'svc').dpop_bound_access_tokens, false);

    const on = JSON.parse(ok(['client', 'update', 'svc', '--dpop-bound-access-tokens',
      '--json', '--data-dir', dir]));
    assert.equal(on.dpop_bound_access_tokens, true);
    assert.equal(show(dir, 'svc').dpop_bound_access_tokens, true);

    // An update that does not name it keeps it.
    const kept = JSON.parse(ok(['client', 'update', 'svc', '--scope', 'b', '--json',
      '--data-dir', dir]));
    assert.equal(kept.dpop_bound_access_tokens, true);
  });

  test('both flags at once, or the negative flag on create, are usage errors', () => {
    const dir = dataDir();
    create(dir, '--id', 'svc', '--dpop-bound-access-tokens');
    fails(['client', 'update', 'svc', '--dpop-bound-access-tokens',
      '--no-dpop-bound-access-tokens', '--data-dir', dir], 2, /excludes/);
    fails(['client', 'create', '--id', 'other', '--no-dpop-bound-access-tokens',
      '--data-dir', dir], 2, /--no-dpop-bound-access-tokens/);
    assert.deepEqual(list(dir).map((c) => [c.client_id, c.dpop_bound_access_tokens]),
      [['svc', true]]);
  });
});

describe('pushed authorization requests required (RFC 9126 §6 require_pushed_authorization_requests)', () => {
  test('off by default; create --require-pushed-authorization-requests stores true, shown by client show', () => {
    const dir = dataDir();
    const plain = create(dir, '--id', 'plain');
    assert.equal(plain.require_pushed_authorization_requests, false);
    assert.equal(show(dir, 'plain').require_pushed_authorization_requests, false);

    const out = create(dir, '--id', 'spa', '--type', 'public', '--redirect-uri',
      'https://app.example/cb', '--require-pushed-authorization-requests');
    assert.equal(out.require_pushed_authorization_requests, true);
    assert.deepEqual(show(dir, 'spa'), out);
    assert.equal(list(dir).find((c) => c.client_id === 'spa').require_pushed_authorization_requests,
      true);
    assert.match(ok(['client', 'show', 'spa', '--data-dir', dir]),
      /^pushed requests required:\s+yes$/m);
    assert.match(ok(['client', 'show', 'plain', '--data-dir', dir]),
      /^pushed requests required:\s+no$/m);
  });

  test('update --no-require-pushed-authorization-requests turns it off, the flag on again', () => {
    const dir = dataDir();
    create(dir, '--id', 'web', '--scope', 'a', '--require-pushed-authorization-requests');
    const off = JSON.parse(ok(['client', 'update', 'web',
      '--no-require-pushed-authorization-requests', '--json', '--data-dir', dir]));
    assert.equal(off.require_pushed_authorization_requests, false);
    assert.equal(off.scope, 'a', 'nothing else changes');
    assert.equal(off.client_secret, undefined);
    assert.equal(show(dir, 'web').require_pushed_authorization_requests, false);

    const on = JSON.parse(ok(['client', 'update', 'web', '--require-pushed-authorization-requests',
      '--json', '--data-dir', dir]));
    assert.equal(on.require_pushed_authorization_requests, true);
    assert.equal(show(dir, 'web').require_pushed_authorization_requests, true);

    // An update that does not name it keeps it.
    const kept = JSON.parse(ok(['client', 'update', 'web', '--scope', 'b', '--json',
      '--data-dir', dir]));
    assert.equal(kept.require_pushed_authorization_requests, true);
  });

  test('both flags at once, or the negative flag on create, are usage errors', () => {
    const dir = dataDir();
    create(dir, '--id', 'web', '--require-pushed-authorization-requests');
    fails(['client', 'update', 'web', '--require-pushed-authorization-requests',
      '--no-require-pushed-authorization-requests', '--data-dir', dir], 2, /excludes/);
    fails(['client', 'create', '--id', 'other', '--no-require-pushed-authorization-requests',
      '--data-dir', dir], 2, /--no-require-pushed-authorization-requests/);
    assert.deepEqual(list(dir).map((c) => [c.client_id, c.require_pushed_authorization_requests]),
      [['web', true]]);
  });
});

describe('FAPI 2.0 profile and signed request objects (--fapi2, --require-signed-request-object)', () => {
  test('off by default; on with the flags, shown by show, withdrawn by update --no-…', () => {
    const dir = dataDir();
    const plain = create(dir, '--id', 'plain');
    assert.equal(plain.fapi2, false);
    assert.equal(plain.require_signed_request_object, false);
    const jwk = publicJwk();
    const jwks = scratch.write(JSON.stringify({ keys: [jwk.public] }));
    const out = create(dir, '--id', 'bank', '--auth-method', 'private_key_jwt', '--jwks-file', jwks,
      '--fapi2', '--require-signed-request-object');
    assert.equal(out.fapi2, true);
    assert.equal(out.require_signed_request_object, true);
    assert.deepEqual(show(dir, 'bank'), out);
    const text = ok(['client', 'show', 'bank', '--data-dir', dir]);
    assert.match(text, /^FAPI 2\.0 profile:\s+yes$/m);
    assert.match(text, /^signed requests required:\s+yes$/m);
    const off = JSON.parse(ok(['client', 'update', 'bank', '--no-fapi2',
      '--no-require-signed-request-object', '--json', '--data-dir', dir]));
    assert.equal(off.fapi2, false);
    assert.equal(off.require_signed_request_object, false);
    assert.equal(off.token_endpoint_auth_method, 'private_key_jwt', 'nothing else changes');
  });

  test('a FAPI 2.0 client must use private_key_jwt or mutual TLS; nothing is stored otherwise', () => {
    const dir = dataDir();
    for (const args of [['--fapi2'], ['--type', 'public', '--redirect-uri', 'https://app.example/cb', '--fapi2'],
      ['--auth-method', 'client_secret_post', '--fapi2']]) {
      const r = tessera(['client', 'create', '--id', 'x', ...args, '--data-dir', dir]);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr, /FAPI 2\.0/, args.join(' '));
    }
    assert.deepEqual(list(dir), []);
    assert.equal(create(dir, '--id', 'pki', '--auth-method', 'tls_client_auth',
      '--tls-client-auth-san-dns', 'pki.example', '--fapi2').fapi2, true);
    // An existing client with a secret cannot be switched to the profile.
    create(dir, '--id', 'web');
    const r = tessera(['client', 'update', 'web', '--fapi2', '--data-dir', dir]);
    assert.notEqual(r.status, 0);
    assert.equal(show(dir, 'web').fapi2, false);
  });
});

describe('mutual-TLS client authentication (RFC 8705 §2 tls_client_auth, self_signed_tls_client_auth)', () => {
  // A self-signed certificate (P-256, SAN DNS:<cn>.example) made with the openssl CLI in the
  // scratch directory; returns its path and PEM.
  let certs = 0;
  function selfSignedCertificate(cn) {
    const base = join(scratch.path, `cert${certs++}`);
    const config = scratch.write(['[req]', 'distinguished_name = dn', '[dn]', '[ext]',
      `subjectAltName = DNS:${cn}.example`, 'extendedKeyUsage = clientAuth', ''].join('\n'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
      '-nodes', '-keyout', `${base}.key`, '-out', `${base}.pem`, '-days', '2', '-subj', `/CN=${cn}`,
      '-config', config, '-extensions', 'ext'], { stdio: ['ignore', 'pipe', 'pipe'] });
    return { file: `${base}.pem`, keyFile: `${base}.key`, pem: readFileSync(`${base}.pem`, 'utf8') };
  }
  const NAMES = ['tls_client_auth_subject_dn', 'tls_client_auth_san_dns', 'tls_client_auth_san_uri',
    'tls_client_auth_san_ip', 'tls_client_auth_san_email'];
  const tlsClient = (dir, id, ...more) => create(dir, '--id', id, '--auth-method', 'tls_client_auth', ...more);

  test('create tls_client_auth with each kind of name: stored under its metadata name, no secret, shown by show', () => {
    const dir = dataDir();
    const cases = [
      ['dn', '--tls-client-auth-subject-dn', 'CN=client,O=Example,C=SE', 'tls_client_auth_subject_dn', 'CN=client,O=Example,C=SE'],
      ['dns', '--tls-client-auth-san-dns', 'client.example', 'tls_client_auth_san_dns', 'client.example'],
      ['uri', '--tls-client-auth-san-uri', 'spiffe://example.org/client', 'tls_client_auth_san_uri', 'spiffe://example.org/client'],
      ['ip4', '--tls-client-auth-san-ip', '192.0.2.7', 'tls_client_auth_san_ip', '192.0.2.7'],
      // Stored in RFC 5952 form, as the server reads certificates.
      ['ip6', '--tls-client-auth-san-ip', '2001:db8:0:0:0:0:0:1', 'tls_client_auth_san_ip', '2001:db8::1'],
      ['ip6b', '--tls-client-auth-san-ip', '2001:DB8::0:A', 'tls_client_auth_san_ip', '2001:db8::a'],
      ['email', '--tls-client-auth-san-email', 'client@example.com', 'tls_client_auth_san_email', 'client@example.com'],
    ];
    for (const [id, flag, value, member, stored] of cases) {
      const out = tlsClient(dir, id, flag, value);
      assert.equal(out.token_endpoint_auth_method, 'tls_client_auth', id);
      assert.equal(out.client_type, 'confidential', id);
      assert.equal(out.client_secret, undefined, `${id}: no secret`);
      assert.equal(out.jwks, undefined, id);
      assert.equal(out[member], stored, id);
      for (const other of NAMES.filter((n) => n !== member)) assert.equal(out[other], undefined, `${id} ${other}`);
      assert.equal(out.tls_client_certificate_bound_access_tokens, false, id);
      assert.deepEqual(show(dir, id), out);
      assert.match(ok(['client', 'show', id, '--data-dir', dir]),
        new RegExp(`^certificate name:\\s+${member}=${stored.replace(/[.]/g, '\\.')}$`, 'm'));
    }
    assert.match(ok(['client', 'list', '--data-dir', dir]),
      /^dns\s+confidential\s+tls_client_auth\s+client_credentials$/m);
  });

  test('--tls-client-certificate-bound-access-tokens is stored, shown, and withdrawn by update --no-…', () => {
    const dir = dataDir();
    const out = tlsClient(dir, 'bound', '--tls-client-auth-san-dns', 'client.example',
      '--tls-client-certificate-bound-access-tokens');
    assert.equal(out.tls_client_certificate_bound_access_tokens, true);
    assert.equal(show(dir, 'bound').tls_client_certificate_bound_access_tokens, true);
    assert.match(ok(['client', 'show', 'bound', '--data-dir', dir]), /^certificate-bound tokens:\s+yes$/m);
    const off = JSON.parse(ok(['client', 'update', 'bound',
      '--no-tls-client-certificate-bound-access-tokens', '--json', '--data-dir', dir]));
    assert.equal(off.tls_client_certificate_bound_access_tokens, false);
    assert.equal(off.tls_client_auth_san_dns, 'client.example', 'nothing else changes');
    assert.match(ok(['client', 'show', 'bound', '--data-dir', dir]), /^certificate-bound tokens:\s+no$/m);
    // A client with a secret may have bound tokens too (its certificate comes from the TLS layer).
    assert.equal(create(dir, '--id', 'secret-bound', '--tls-client-certificate-bound-access-tokens')
      .tls_client_certificate_bound_access_tokens, true);
  });

  test('update replaces the name, and leaving tls_client_auth drops it and issues a secret', () => {
    const dir = dataDir();
    tlsClient(dir, 'svc', '--tls-client-auth-san-dns', 'client.example', '--scope', 'a');
    const renamed = JSON.parse(ok(['client', 'update', 'svc', '--tls-client-auth-san-ip', '10.0.0.1',
      '--json', '--data-dir', dir]));
    assert.equal(renamed.tls_client_auth_san_ip, '10.0.0.1');
    assert.equal(renamed.tls_client_auth_san_dns, undefined, 'one name at a time');
    assert.equal(renamed.scope, 'a');
    const toSecret = JSON.parse(ok(['client', 'update', 'svc', '--auth-method', 'client_secret_basic',
      '--json', '--data-dir', dir]));
    assert.equal(toSecret.token_endpoint_auth_method, 'client_secret_basic');
    assert.match(toSecret.client_secret, /^[A-Za-z0-9_-]{43}$/);
    for (const n of NAMES) assert.equal(toSecret[n], undefined, n);
    assert.equal(show(dir, 'svc').tls_client_auth_san_ip, undefined);
    // And back: the name must be given again.
    fails(['client', 'update', 'svc', '--auth-method', 'tls_client_auth', '--data-dir', dir], 2,
      /tls_client_auth client needs one --tls-client-auth-subject-dn or --tls-client-auth-san-/);
    const back = JSON.parse(ok(['client', 'update', 'svc', '--auth-method', 'tls_client_auth',
      '--tls-client-auth-san-email', 'svc@example.com', '--json', '--data-dir', dir]));
    assert.equal(back.tls_client_auth_san_email, 'svc@example.com');
    assert.equal(back.client_secret, undefined);
  });

  test('self_signed_tls_client_auth from --certificate-file: jwks with the key and the certificate in x5c', () => {
    const dir = dataDir();
    const a = selfSignedCertificate('alpha');
    const b = selfSignedCertificate('beta');
    const out = create(dir, '--id', 'self', '--auth-method', 'self_signed_tls_client_auth',
      '--certificate-file', a.file, '--certificate-file', b.file, '--tls-client-certificate-bound-access-tokens');
    assert.equal(out.token_endpoint_auth_method, 'self_signed_tls_client_auth');
    assert.equal(out.client_secret, undefined);
    assert.equal(out.tls_client_certificate_bound_access_tokens, true);
    for (const n of NAMES) assert.equal(out[n], undefined, n);
    assert.equal(out.jwks.keys.length, 2);
    for (const [i, cert] of [a, b].entries()) {
      const x509 = new X509Certificate(cert.pem);
      const key = out.jwks.keys[i];
      // RFC 7517 §4.7: base64 (not base64url) DER, the certificate first.
      assert.deepEqual(key.x5c, [x509.raw.toString('base64')], `key ${i}`);
      const spki = x509.publicKey.export({ format: 'jwk' });
      assert.equal(key.kty, 'EC');
      assert.equal(key.crv, 'P-256');
      assert.equal(key.x, spki.x, `key ${i} x`);
      assert.equal(key.y, spki.y, `key ${i} y`);
      assert.equal(key.d, undefined, 'no private part');
    }
    assert.deepEqual(show(dir, 'self'), out);
    // update --certificate-file replaces the set.
    const replaced = JSON.parse(ok(['client', 'update', 'self', '--certificate-file', b.file,
      '--json', '--data-dir', dir]));
    assert.deepEqual(replaced.jwks.keys.map((k) => k.x5c[0]),
      [new X509Certificate(b.pem).raw.toString('base64')]);
  });

  test('self_signed_tls_client_auth by --jwks-uri (RFC 8705 §2.2.2), and back to certificates', () => {
    const dir = dataDir();
    const out = create(dir, '--id', 'self-uri', '--auth-method', 'self_signed_tls_client_auth',
      '--jwks-uri', 'https://self.example/jwks');
    assert.equal(out.token_endpoint_auth_method, 'self_signed_tls_client_auth');
    assert.equal(out.jwks_uri, 'https://self.example/jwks');
    assert.equal(out.jwks, undefined);
    const cert = selfSignedCertificate('delta');
    const inline = JSON.parse(ok(['client', 'update', 'self-uri', '--certificate-file', cert.file,
      '--json', '--data-dir', dir]));
    assert.equal(inline.jwks_uri, undefined, 'the certificates replace the URI');
    assert.equal(inline.jwks.keys.length, 1);
  });

  test('bad mTLS input exits 2 with a reason and changes nothing', () => {
    const dir = dataDir();
    create(dir, '--id', 'taken');
    create(dir, '--id', 'signer', '--auth-method', 'private_key_jwt', '--jwks-uri',
      'https://signer.example/jwks');
    const cert = selfSignedCertificate('gamma');
    const cases = [
      // Two names at once.
      [['create', '--auth-method', 'tls_client_auth', '--tls-client-auth-san-dns', 'a.example',
        '--tls-client-auth-san-uri', 'urn:a'], /excludes/],
      [['create', '--auth-method', 'tls_client_auth', '--tls-client-auth-subject-dn', 'CN=a',
        '--tls-client-auth-san-email', 'a@example.com'], /excludes/],
      // No name.
      [['create', '--auth-method', 'tls_client_auth'],
        /tls_client_auth client needs one --tls-client-auth-subject-dn or --tls-client-auth-san-/],
      [['create', '--auth-method', 'tls_client_auth', '--tls-client-auth-san-dns', ''], /must not be empty/],
      [['create', '--auth-method', 'tls_client_auth', '--tls-client-auth-san-ip', '999.1.1.1'],
        /--tls-client-auth-san-ip 999\.1\.1\.1: not an IP address/],
      [['create', '--auth-method', 'tls_client_auth', '--tls-client-auth-san-ip', 'client.example'],
        /not an IP address/],
      // Names on a client of another method.
      [['create', '--tls-client-auth-san-dns', 'a.example'], /names are for tls_client_auth clients/],
      [['create', '--auth-method', 'self_signed_tls_client_auth', '--certificate-file', cert.file,
        '--tls-client-auth-subject-dn', 'CN=gamma'], /names are for tls_client_auth clients/],
      [['update', 'taken', '--tls-client-auth-san-uri', 'urn:a'], /names are for tls_client_auth clients/],
      // Certificates: not one, none, or on another method.
      [['create', '--auth-method', 'self_signed_tls_client_auth', '--certificate-file',
        scratch.write('not a certificate')], /not a PEM certificate/],
      [['create', '--auth-method', 'self_signed_tls_client_auth', '--certificate-file', cert.keyFile],
        /not a PEM certificate/],
      [['create', '--auth-method', 'self_signed_tls_client_auth', '--certificate-file',
        join(scratch.path, 'missing.pem')], /cannot read/],
      [['create', '--auth-method', 'self_signed_tls_client_auth'], /needs --certificate-file/],
      [['create', '--auth-method', 'self_signed_tls_client_auth', '--certificate-file', cert.file,
        '--jwks-uri', 'https://self.example/jwks'], /one or the other/],
      // A private_key_jwt client's jwks_uri publishes keys, not certificates: switching to the
      // self-signed method names its certificates again.
      [['update', 'signer', '--auth-method', 'self_signed_tls_client_auth'], /needs --certificate-file or --jwks-uri/],
      [['create', '--certificate-file', cert.file], /for self_signed_tls_client_auth clients/],
      [['create', '--auth-method', 'tls_client_auth', '--tls-client-auth-san-dns', 'a.example',
        '--certificate-file', cert.file], /for self_signed_tls_client_auth clients/],
      [['create', '--type', 'public', '--auth-method', 'tls_client_auth',
        '--tls-client-auth-san-dns', 'a.example'], /public client/],
      [['update', 'taken', '--tls-client-certificate-bound-access-tokens',
        '--no-tls-client-certificate-bound-access-tokens'], /excludes/],
    ];
    for (const [args, reason] of cases) {
      const r = fails(['client', ...args, '--data-dir', dir], 2, reason);
      if (!/excludes/.test(String(reason))) {
        assert.match(r.stderr, /^tessera client \S+: .+/, args.join(' '));
      }
    }
    const clients = list(dir);
    assert.deepEqual(clients.map((c) => c.client_id), ['signer', 'taken']);
    assert.equal(clients[0].token_endpoint_auth_method, 'private_key_jwt');
    clients.shift();
    assert.equal(clients[0].token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(clients[0].tls_client_certificate_bound_access_tokens, false);
    for (const n of NAMES) assert.equal(clients[0][n], undefined, n);
  });
});

describe('rich authorization and CIBA clients', () => {
  test('--authorization-details-type is stored, shown, replaced by update and checked', () => {
    const dir = dataDir();
    const created = create(dir, '--id', 'pay', '--scope', 'a', '--authorization-details-type',
      'payment_initiation', '--authorization-details-type', 'account_information');
    assert.deepEqual(created.authorization_details_types, ['payment_initiation', 'account_information']);
    assert.deepEqual(show(dir, 'pay').authorization_details_types,
      ['payment_initiation', 'account_information']);
    const updated = JSON.parse(ok(['client', 'update', 'pay', '--authorization-details-type',
      'payment_initiation', '--json', '--data-dir', dir]));
    assert.deepEqual(updated.authorization_details_types, ['payment_initiation']);
    const text = ok(['client', 'show', 'pay', '--data-dir', dir]);
    assert.match(text, /authorization details:\s+payment_initiation\n/);
    fails(['client', 'create', '--id', 'bad', '--authorization-details-type', 'two words',
      '--data-dir', dir], 2, /--authorization-details-type/);
    assert.equal(create(dir, '--id', 'plain', '--scope', 'a').authorization_details_types, undefined);
  });

  test('the CIBA grant type is for confidential clients', () => {
    const dir = dataDir();
    const desk = create(dir, '--id', 'desk', '--scope', 'openid', '--grant-type',
      'urn:openid:params:grant-type:ciba');
    assert.deepEqual(desk.grant_types, ['urn:openid:params:grant-type:ciba']);
    fails(['client', 'create', '--id', 'pub', '--type', 'public', '--grant-type',
      'urn:openid:params:grant-type:ciba', '--data-dir', dir], 2, /CIBA grant is for confidential/);
  });
});
