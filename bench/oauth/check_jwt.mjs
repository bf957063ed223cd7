// Makes sure a compared server really issues what the comparison claims: one client credentials
// token request (client_secret_basic, scope invoices:read, no resource parameter), then the
// access token is verified with jose against the server's JWKS (found through its RFC 8414 /
// OpenID discovery document) and must be an RFC 9068 JWT: alg ES256, typ at+jwt, aud and
// client_id as asked. Prints one line describing the token; exits 1 otherwise.
//
//   node check_jwt.mjs NAME ISSUER CLIENT_ID CLIENT_SECRET AUDIENCE
import * as jose from 'jose';

const [name, issuer, clientId, secret, audience] = process.argv.slice(2);

async function discovery() {
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    const r = await fetch(new URL(path, issuer));
    if (r.ok) return r.json();
  }
  throw new Error(`${name}: no discovery document at ${issuer}`);
}

const meta = await discovery();
const response = await fetch(meta.token_endpoint, {
  method: 'POST',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: 'Basic ' + Buffer.from(`${clientId}:${secret}`).toString('base64'),
  },
  body: 'grant_type=client_credentials&scope=invoices%3Aread',
});
const body = await response.json();
if (response.status !== 200) throw new Error(`${name}: ${response.status} ${JSON.stringify(body)}`);
const header = jose.decodeProtectedHeader(body.access_token);
const { payload } = await jose.jwtVerify(body.access_token,
  jose.createRemoteJWKSet(new URL(meta.jwks_uri)),
  { issuer: meta.issuer, audience, algorithms: ['ES256'], typ: 'at+jwt' });
if (payload.client_id !== clientId) throw new Error(`${name}: client_id ${payload.client_id}`);
if (payload.scope !== 'invoices:read') throw new Error(`${name}: scope ${payload.scope}`);
console.log(`${name}: ES256 JWT verified against its JWKS: header ${JSON.stringify(header)}, ` +
  `claims ${Object.keys(payload).sort().join(',')}, ${body.access_token.length} bytes, ` +
  `response ${JSON.stringify(body).length} bytes`);
