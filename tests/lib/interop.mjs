// What the interop tests add to tests/lib/demo.mjs: the demo's metadata as oauth4webapi reads it
// (RFC 8414, OpenID Discovery 1.0 §4), a `tessera serve` of the as role alone set up the same
// way, openid-client configurations for their clients, the client's side of the code flow
// with oauth4webapi, and a JWT access token's claims checked with jose. The only relaxation is
// allowInsecureRequests: the servers speak plain http on 127.0.0.1.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { startDemo } from './demo.mjs';
import { freePort, ok, startTessera, waitFor } from './tessera.mjs';

// oauth4webapi's option for plain http.
export const insecure = { [oauth.allowInsecureRequests]: true };

// oauth4webapi's client authentication for `c` (a client of the readiness line or of `tessera
// client create --json`): client_secret_basic for a confidential client, none for a public one.
export function clientAuth(c) {
  return c.client_secret ? oauth.ClientSecretBasic(c.client_secret) : oauth.None();
}

// For assert.rejects: the error answer `error` (RFC 6749 §5.2), as oauth4webapi throws it.
export const refusedWith = (error) => (e) => {
  assert.ok(e instanceof oauth.ResponseBodyError, String(e));
  assert.equal(e.error, error, e.error_description);
  return true;
};

// The server metadata of `issuer` (a URL string), discovered and validated by oauth4webapi;
// `fetcher`, when given, is its customFetch. allowInsecureRequests only for an http issuer.
async function discover(issuer, fetcher) {
  const url = new URL(issuer);
  const options = { algorithm: 'oidc', ...(url.protocol === 'http:' ? insecure : {}) };
  if (fetcher) options[oauth.customFetch] = fetcher;
  return oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, options));
}

// Another party that signs JWTs with its own ES256 key (a partner issuer, a software publisher):
// `keys` (its pair; the public key published as `jwk` with `kid`), `rogue` (a pair of no one's),
// and an HTTP server on 127.0.0.1 that publishes the JWKS, started before() and closed after()
// in the calling scope. Once it listens, `jwksUri()` is its URL; `requests` counts the fetches.
export async function jwksPublisher(kid) {
  const keys = await jose.generateKeyPair('ES256');
  const publisher = {
    keys,
    jwk: { ...(await jose.exportJWK(keys.publicKey)), kid, alg: 'ES256' },
    rogue: await jose.generateKeyPair('ES256'),
    port: undefined,
    requests: 0,
    jwksUri: () => `http://127.0.0.1:${publisher.port}/jwks`,
  };
  const server = createServer((req, res) => {
    publisher.requests += 1;
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
    res.end(JSON.stringify({ keys: [publisher.jwk] }));
  });
  before(async () => {
    publisher.port = await freePort();
    await new Promise((resolve) => server.listen(publisher.port, '127.0.0.1', resolve));
  });
  after(() => server.close());
  return publisher;
}

// startDemo(prefix, setup) that also sets `as` before `setup` runs: the server metadata,
// discovered and validated by oauth4webapi.
export function startInteropDemo(prefix, setup) {
  return startDemo(prefix, async (demo) => {
    demo.as = await discover(demo.ready.issuer);
    await setup(demo);
  });
}

// Like startDemo, for a `tessera serve` with roles [as] on a SQLite store: registers before()
// and after() hooks in the calling scope and returns an object that before() fills in. before()
// makes a directory (named from `prefix`) and a secret key file there, picks a free port
// (`issuer` is http://127.0.0.1:<port>), makes on the store, before the server opens it, the
// clients `clients(issuer)` names (name -> arguments of `tessera client create`; each set under
// its name to what --json printed) and then, given `user` (a username), that user with a random
// password (set as `user`: username, password and the id the CLI gave), and each of `users` (more
// usernames) the same way (set in `users` under its username). It writes a config whose `as:`
// section holds the issuer, the secret key file and the lines `asExtra`, starts `tessera serve`,
// waits for /readyz, sets `as` (the server metadata, as startInteropDemo does) and awaits
// `setup(serve)`.
// The object also holds `dir`, `port` and `server` (startTessera's handle). after() kills the
// server and removes the directory.
// For a TLS listener: `https` makes the issuer https://127.0.0.1:<port>, `httpExtra` adds lines
// to the config's `http:` section (e.g. its tls: block) and `fetch` (a fetch-like function, e.g.
// one that trusts the test's CA) waits for /readyz and is oauth4webapi's customFetch for the
// discovery. `asExtra` and `httpExtra` may also be functions of the object (dir and port set),
// returning the lines. port + 1 .. port + 4 were free too when the port was picked.
export function startInteropServe(prefix, {
  asExtra = [], httpExtra = [], https = false, fetch: fetcher, clients = () => ({}), user,
  users = [],
} = {}, setup = async () => {}) {
  const serve = {
    dir: undefined, port: undefined, issuer: undefined, server: undefined, as: undefined, users: {},
  };
  const lines = (extra) => (typeof extra === 'function' ? extra(serve) : extra);
  before(async () => {
    serve.dir = mkdtempSync(join(tmpdir(), prefix));
    const port = await freePort();
    serve.port = port;
    serve.issuer = `${https ? 'https' : 'http'}://127.0.0.1:${port}`;
    const db = join(serve.dir, 'tessera.db');
    const secretKey = join(serve.dir, 'secret.key');
    writeFileSync(secretKey, randomBytes(32).toString('base64url'), { mode: 0o600 });
    const storeOnly = join(serve.dir, 'store.yaml');
    writeFileSync(storeOnly, `store:\n  driver: sqlite\n  path: ${db}\n`);
    for (const [name, args] of Object.entries(clients(serve.issuer))) {
      assert.ok(!(name in serve) && name !== 'user', `client name ${name} is taken`);
      serve[name] = JSON.parse(ok(['client', 'create', ...args, '--json', '--config', storeOnly]));
    }
    const createUser = (username) => {
      const password = `Pw-${randomBytes(12).toString('base64url')}`;
      const created = JSON.parse(ok(['user', 'create', username, '--password-stdin', '--json',
        '--config', storeOnly], password + '\n'));
      return { username, password, id: created.id };
    };
    if (user) serve.user = createUser(user);
    for (const username of users) serve.users[username] = createUser(username);
    const config = join(serve.dir, 'tessera.yaml');
    writeFileSync(config, [
      'roles: [as]',
      'http:',
      `  listen: 127.0.0.1:${port}`,
      ...lines(httpExtra).map((line) => `  ${line}`),
      'store:',
      '  driver: sqlite',
      `  path: ${db}`,
      'as:',
      `  issuer: ${serve.issuer}`,
      `  secret_key_file: ${secretKey}`,
      ...lines(asExtra).map((line) => `  ${line}`),
      '',
    ].join('\n'));
    serve.server = startTessera(['serve', '--config', config]);
    await waitFor(async () => {
      if (serve.server.child.exitCode !== null) throw new Error(`tessera serve exited: ${serve.server.err()}`);
      try {
        return (await (fetcher ?? fetch)(serve.issuer + '/readyz')).status === 200;
      } catch {
        return false;
      }
    }, 'tessera serve ready');
    serve.as = await discover(serve.issuer, fetcher);
    await setup(serve);
  });
  after(() => {
    serve.server?.child.kill('SIGKILL');
    if (serve.dir) rmSync(serve.dir, { recursive: true, force: true });
  });
  return serve;
}

// openid-client's configuration for `c` (a client of the readiness line or of `tessera client
// create --json`): no authentication for a public client, client_secret_basic otherwise.
export function openidConfig(demo, c) {
  const auth = c.client_secret ? client.ClientSecretBasic(c.client_secret) : client.None();
  return client.discovery(new URL(demo.ready.issuer), c.client_id, c.client_secret, auth,
    { execute: [client.allowInsecureRequests] });
}

// A fresh authorization request for client `c`: code + PKCE S256, state and nonce. `extra` adds
// parameters or, with undefined, removes them. Returns the parameters (all but client_id), the
// code verifier, the state and the nonce.
export async function authorizationRequest(c, extra = {}) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const params = {
    redirect_uri: c.redirect_uris[0], response_type: 'code', scope: 'openid profile', state, nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    ...extra,
  };
  for (const [k, v] of Object.entries(params)) if (v === undefined) delete params[k];
  return { params, verifier, state, nonce };
}

// The browser's URL for a plain (not pushed) authorization request: client_id, then `params`.
export function authorizationUrl(as, clientId, params) {
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', clientId);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url;
}

// The code in the redirect `location` answering authorizationRequest `a` of client `c`, redeemed
// with oauth4webapi (client_secret_basic for a confidential client, none for a public one), the
// ID token required and its nonce checked. `options` adds to the token request's options (e.g.
// additionalParameters). Returns the processed token response.
export async function redeemCode(as, c, a, location, options = {}) {
  const cc = { client_id: c.client_id };
  const params = oauth.validateAuthResponse(as, cc, location, a.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as, cc, clientAuth(c), params, c.redirect_uris[0], a.verifier, { ...insecure, ...options });
  return oauth.processAuthorizationCodeResponse(as, cc, response,
    { expectedNonce: a.nonce, requireIdToken: true });
}

// The browser's URL for a pushed request (RFC 9126 §4): client_id and request_uri only.
export function pushedUrl(as, clientId, requestUri) {
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('request_uri', requestUri);
  return url;
}

// The access token's claims, its signature checked against the issuer's JWKS (RFC 9068).
export async function accessTokenClaims(as, token) {
  const { payload } = await jose.jwtVerify(token, jose.createRemoteJWKSet(new URL(as.jwks_uri)),
    { typ: 'at+jwt', issuer: as.issuer });
  return payload;
}
