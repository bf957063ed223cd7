// Seeds the refresh benchmark: N independent refresh-token families for one confidential
// client, printed one refresh token per line. Alice signs in once through Tessera's own pages
// (tests/lib/login.mjs); the same cookie jar then repeats the authorization code flow (RFC 6749
// §4.1 with PKCE, RFC 7636 S256), which the existing session (and the client's skip-consent)
// answers straight with a code; each code is redeemed for a new family.
//
//   node seed_refresh.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI SCOPE N USERNAME PASSWORD
import { createHash, randomBytes } from 'node:crypto';
import { CookieJar, signIn, visit } from '../../tests/lib/login.mjs';

const [issuer, clientId, secret, redirectUri, scope, count, username, password] =
  process.argv.slice(2);
if (!password) {
  console.error('usage: seed_refresh.mjs ISSUER CLIENT_ID SECRET REDIRECT_URI SCOPE N USER PASSWORD');
  process.exit(2);
}
const b64url = (b) => b.toString('base64url');

function authorizeUrl() {
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(16));
  const url = new URL('/authorize', issuer);
  for (const [k, v] of Object.entries({
    client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope, state,
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  })) url.searchParams.set(k, v);
  return { url: url.href, verifier, state };
}

function codeOf(location, state) {
  const url = new URL(location, issuer);
  if (url.searchParams.get('state') !== state) throw new Error(`state mismatch: ${url}`);
  const code = url.searchParams.get('code');
  if (!code) throw new Error(`no code: ${url}`);
  return code;
}

async function redeem(code, verifier) {
  const response = await fetch(new URL('/token', issuer), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from(`${clientId}:${secret}`).toString('base64'),
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier,
    }).toString(),
  });
  const body = await response.json();
  if (response.status !== 200 || !body.refresh_token) {
    throw new Error(`code exchange: ${response.status} ${JSON.stringify(body)}`);
  }
  return body.refresh_token;
}

const jar = new CookieJar();
const first = authorizeUrl();
const signedIn = await signIn(first.url, { username, password }, { jar });
if (!signedIn.location) {
  throw new Error(`sign-in did not redirect: ${signedIn.page?.status} ${signedIn.page?.text}`);
}
const tokens = [await redeem(codeOf(signedIn.location, first.state), first.verifier)];
while (tokens.length < Number(count)) {
  const next = authorizeUrl();
  const page = await visit(jar, next.url);
  if (page.status !== 302 && page.status !== 303) {
    throw new Error(`authorize did not redirect: ${page.status} ${page.text.slice(0, 300)}`);
  }
  tokens.push(await redeem(codeOf(page.response.headers.get('location'), next.state),
    next.verifier));
}
process.stdout.write(tokens.join('\n') + '\n');
