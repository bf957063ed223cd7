// A `tessera demo` per test file (or describe block), and the plain HTTP helpers the protocol
// tests share. No client library here: the interop tests bring their own on top of this.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startTessera, waitFor } from './tessera.mjs';
import { CookieJar, signIn } from './login.mjs';

// Registers before() and after() hooks in the calling scope: before() makes a data directory
// (named from `prefix`), starts `tessera demo` on a free port there, waits for its readiness
// line and then awaits `setup(demo)`; after() kills the demo and removes the directory. Returns
// an object that before() fills in: `dir`, `ready` (the readiness line: issuer, clients, users),
// `metadata` (the server's OpenID discovery document) and `server` (startTessera's handle).
// Set-up that needs the demo goes in `setup`, not in a before() of its own: node 20 runs the
// before() hooks of a file's top level concurrently.
export function startDemo(prefix, setup = async () => {}) {
  const demo = { dir: undefined, ready: undefined, metadata: undefined, server: undefined };
  before(async () => {
    demo.dir = mkdtempSync(join(tmpdir(), prefix));
    const port = await freePort();
    demo.server = startTessera(['demo', '--port', String(port), '--data-dir', demo.dir]);
    const out = await waitFor(() => demo.server.out().includes('\n') && demo.server.out(),
      'readiness line');
    demo.ready = JSON.parse(out.trim());
    const discovery = await fetch(`${demo.ready.issuer}/.well-known/openid-configuration`);
    assert.equal(discovery.status, 200);
    demo.metadata = await discovery.json();
    await setup(demo);
  });
  after(() => {
    demo.server?.child.kill('SIGKILL');
    if (demo.dir) rmSync(demo.dir, { recursive: true, force: true });
  });
  return demo;
}

// POSTs `body` as application/x-www-form-urlencoded. The status, headers and text of the
// answer, and `body` parsed as JSON when there is one. A 500 is never an acceptable answer.
export async function form(endpoint, body, headers = {}) {
  const r = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
  });
  const text = await r.text();
  assert.notEqual(r.status, 500, text);
  return { status: r.status, headers: r.headers, text, body: text ? JSON.parse(text) : undefined };
}

// RFC 6749 §2.3.1 client_secret_basic: id and secret form-urlencoded, then base64.
export function basic(id, secret) {
  return { authorization: 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64') };
}

// RFC 7636 §4.1-4.2: a code verifier and its S256 challenge.
export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

// `user` signs in for `client` (a public client such as the demo's spa) in `jar`, and the code
// is redeemed at the token endpoint with the PKCE verifier (RFC 6749 §4.1.3, RFC 7636 §4.5).
// `tokenHeaders` go with the token request (a DPoP proof, RFC 9449 §5).
// Returns the pages walked through and the token response.
export async function codeFlow(demo, user, {
  client = demo.ready.clients.spa, scope = 'openid offline_access', jar = new CookieJar(),
  tokenHeaders = {},
} = {}) {
  const { verifier, challenge } = pkce();
  const state = randomBytes(16).toString('base64url');
  const redirectUri = client.redirect_uris[0];
  const url = new URL(demo.metadata.authorization_endpoint);
  for (const [k, v] of Object.entries({
    client_id: client.client_id, redirect_uri: redirectUri, response_type: 'code', scope, state,
    code_challenge: challenge, code_challenge_method: 'S256',
  })) url.searchParams.set(k, v);
  const signedIn = await signIn(url.href, user, { jar });
  assert.ok(signedIn.location, `no redirect: ${signedIn.page?.status} ${signedIn.page?.text.slice(0, 300)}`);
  assert.equal(signedIn.location.searchParams.get('state'), state);
  const code = signedIn.location.searchParams.get('code');
  assert.ok(code, signedIn.location.href);
  const tokens = await form(demo.metadata.token_endpoint, {
    grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier,
    client_id: client.client_id,
  }, tokenHeaders);
  assert.equal(tokens.status, 200, tokens.text);
  return { pages: signedIn.pages, jar, tokens: tokens.body };
}
