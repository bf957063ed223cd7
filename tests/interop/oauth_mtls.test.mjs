// Mutual-TLS client authentication and certificate-bound access tokens (RFC 8705) at Tessera
// with real, unmodified client libraries (oauth4webapi 3 in its strict mode, openid-client 6):
// a `tessera serve` of the as role on https (http.tls) with an as.mtls listener, discovery (§2.1.1,
// §2.2.1, §3.3, §5 mtls_endpoint_aliases), tls_client_auth by each kind of registered name
// (§2.1.2) and self_signed_tls_client_auth (§2.2) through the aliases, the certificates that must
// be refused (another name, another CA, self-signed, none, an unregistered self-signed one: 401
// invalid_client and no token), the x5t#S256 confirmation of bound tokens (§3.1) in the JWT and
// at introspection (§3.2), and revocation and PAR through the aliases. Every certificate is made
// by the openssl CLI in a fresh directory; the libraries reach the server through a customFetch on
// node:https that presents the client's certificate and trusts the test's server CA.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import * as jose from 'jose';
import { BIN } from '../lib/tessera.mjs';
import { authorizationRequest, startInteropServe } from '../lib/interop.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const INVOICES = 'urn:tessera:api:invoices';

// --- Certificates ----------------------------------------------------------------------------

// Made with the openssl CLI when the file loads (synchronously: node 20 runs top-level before()
// hooks concurrently), in a fresh directory removed after the tests. Each entry: { pem, key,
// certFile } (PEM texts and the certificate's path).
//   serverCa -> server        the server's certificate: SAN DNS:localhost, IP:127.0.0.1
//   clientCa -> client        subject O=Example,CN=client; SAN DNS:client.example,
//                             URI:urn:example:client, IP:2001:db8::1, email:client@example.com
//   clientCa -> other         the same CA, other names in every field
//   rogueCa  -> rogue         a CA the server does not trust, the names of `client`
//   self, selfOther           self-signed, identical subject and names (those of `client`)
function makeCertificates() {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-mtls-certs-'));
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const config = (name, ext) => {
    const file = join(dir, `${name}.cnf`);
    writeFileSync(file, ['[req]', 'distinguished_name = dn', '[dn]', '[ext]', ...ext, ''].join('\n'));
    return file;
  };
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const read = (name) => ({
    pem: readFileSync(join(dir, `${name}.pem`), 'utf8'),
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
    certFile: join(dir, `${name}.pem`),
  });
  const selfSigned = (name, subject, ext) => {
    openssl('req', '-x509', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.pem`,
      '-days', '2', '-subj', subject, '-config', config(name, ext), '-extensions', 'ext');
    return read(name);
  };
  const issued = (name, ca, subject, ext) => {
    openssl('req', '-new', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`,
      '-subj', subject, '-config', config(`${name}-req`, []));
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`,
      '-set_serial', String(randomInt(1, 2 ** 47)), '-days', '2', '-out', `${name}.pem`,
      '-extfile', config(name, ext), '-extensions', 'ext');
    return read(name);
  };
  const caExt = ['basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign',
    'subjectKeyIdentifier = hash'];
  const leaf = (usage, san) => ['basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature', `extendedKeyUsage = ${usage}`,
    `subjectAltName = ${san}`];
  const clientNames = 'DNS:client.example,URI:urn:example:client,IP:2001:db8::1,email:client@example.com';
  const otherNames = 'DNS:other.example,URI:urn:example:other,IP:2001:db8::2,email:other@example.com';
  const certs = { dir };
  certs.serverCa = selfSigned('server-ca', '/CN=Tessera test server CA', caExt);
  certs.server = issued('server', 'server-ca', '/CN=localhost',
    leaf('serverAuth', 'DNS:localhost,IP:127.0.0.1'));
  certs.clientCa = selfSigned('client-ca', '/O=Example/CN=Tessera test client CA', caExt);
  certs.client = issued('client', 'client-ca', '/O=Example/CN=client', leaf('clientAuth', clientNames));
  certs.other = issued('other', 'client-ca', '/O=Example/CN=other', leaf('clientAuth', otherNames));
  certs.rogueCa = selfSigned('rogue-ca', '/O=Example/CN=Tessera test client CA', caExt);
  certs.rogue = issued('rogue', 'rogue-ca', '/O=Example/CN=client', leaf('clientAuth', clientNames));
  certs.self = selfSigned('self', '/O=Example/CN=client', leaf('clientAuth', clientNames));
  certs.selfOther = selfSigned('self-other', '/O=Example/CN=client', leaf('clientAuth', clientNames));
  return certs;
}

const certs = makeCertificates();
certs.ticketKeyFile = join(certs.dir, 'ticket.key');
writeFileSync(certs.ticketKeyFile, randomBytes(80));
after(() => rmSync(certs.dir, { recursive: true, force: true }));

// RFC 8705 §2.2.2 by reference: a self-signed client that publishes its certificate at its
// jwks_uri (a JWK of the certificate's key with x5c), served here on 127.0.0.1.
const publishedCertificate = (cert) => {
  const x509 = new X509Certificate(cert.pem);
  return { keys: [{ ...x509.publicKey.export({ format: 'jwk' }), x5c: [x509.raw.toString('base64')] }] };
};
let published = publishedCertificate(certs.self);
const jwksServer = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(published));
});
await new Promise((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
after(() => jwksServer.close());
const selfJwksUri = `http://127.0.0.1:${jwksServer.address().port}/jwks`;

// RFC 8705 §3.1: base64url SHA-256 of the certificate's DER.
const thumbprint = (cert) =>
  createHash('sha256').update(new X509Certificate(cert.pem).raw).digest('base64url');

// A fetch (oauth4webapi's customFetch) over node:https that trusts the server CA alone and, given
// `cert` (an entry of `certs`), presents it as the TLS client certificate. No connection reuse:
// each request is a fresh handshake with this identity.
function tlsFetch(cert) {
  return (url, options = {}) => new Promise((resolve, reject) => {
    const headers = new Headers(options.headers);
    const body = options.body == null ? undefined : String(options.body);
    if (body !== undefined) headers.set('content-length', String(Buffer.byteLength(body)));
    const request = https.request(url, {
      method: options.method ?? 'GET',
      headers: Object.fromEntries(headers),
      ca: certs.serverCa.pem,
      ...(cert ? { cert: cert.pem, key: cert.key } : {}),
      agent: false,
      signal: options.signal,
    }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const h = new Headers();
        for (let i = 0; i < response.rawHeaders.length; i += 2) {
          h.append(response.rawHeaders[i], response.rawHeaders[i + 1]);
        }
        const empty = [204, 205, 304].includes(response.statusCode);
        resolve(new Response(empty ? null : Buffer.concat(chunks),
          { status: response.statusCode, statusText: response.statusMessage, headers: h }));
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

// oauth4webapi's options for a request presenting `cert` (none when undefined).
const withCert = (cert) => ({ [oauth.customFetch]: tlsFetch(cert) });

// The access token's claims, its signature checked against the issuer's JWKS (RFC 9068).
async function accessTokenClaims(as, token) {
  const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri),
    { [jose.customFetch]: tlsFetch() });
  const { payload } = await jose.jwtVerify(token, jwks, { typ: 'at+jwt', issuer: as.issuer });
  return payload;
}

// --- Against `tessera serve` with http.tls and as.mtls ----------------------------------------

describe('tessera serve with http.tls and as.mtls', () => {
  // The clients of the PKI method, one per kind of registered name (RFC 8705 §2.1.2), each
  // matched by `client` and by nothing of `other`; the flag spelled as on the command line.
  const PKI_NAMES = {
    pkiDn: ['--tls-client-auth-subject-dn', 'CN=client,O=Example'],
    pkiDns: ['--tls-client-auth-san-dns', 'client.example'],
    pkiUri: ['--tls-client-auth-san-uri', 'urn:example:client'],
    pkiIp: ['--tls-client-auth-san-ip', '2001:db8:0:0:0:0:0:1'],
    pkiEmail: ['--tls-client-auth-san-email', 'client@example.com'],
  };
  const service = (id, ...more) => ['--id', id, '--type', 'confidential',
    '--grant-type', 'client_credentials', '--scope', 'invoices:read', '--audience', INVOICES, ...more];

  let as;
  const env = startInteropServe('tessera-mtls-', {
    https: true,
    fetch: (url, options) => tlsFetch()(url, options),
    httpExtra: [
      'tls:',
      `  cert_file: ${certs.server.certFile}`,
      `  key_file: ${join(certs.dir, 'server.key')}`,
      '  client_auth: none',
      // Shared ticket keys on the main listener; the mTLS listener, which caches sessions, drops
      // them (`serve` would not start otherwise).
      `  session_ticket_key_files: [${certs.ticketKeyFile}]`,
    ],
    asExtra: (serve) => [
      'mtls:',
      `  port: ${serve.port + 1}`,
      `  client_ca_file: ${certs.clientCa.certFile}`,
    ],
    clients: (issuer) => ({
      ...Object.fromEntries(Object.entries(PKI_NAMES).map(([name, flag]) =>
        [name, service(`pki-${name.slice(3).toLowerCase()}`, '--auth-method', 'tls_client_auth', ...flag,
          ...(name === 'pkiDns' ? ['--tls-client-certificate-bound-access-tokens'] : []))])),
      opaque: service('pki-opaque', '--auth-method', 'tls_client_auth',
        '--tls-client-auth-san-dns', 'client.example', '--access-token-format', 'opaque',
        '--tls-client-certificate-bound-access-tokens'),
      selfSigned: service('self-signed', '--auth-method', 'self_signed_tls_client_auth',
        '--certificate-file', certs.self.certFile, '--tls-client-certificate-bound-access-tokens'),
      selfSignedUri: service('self-signed-uri', '--auth-method', 'self_signed_tls_client_auth',
        '--jwks-uri', selfJwksUri, '--tls-client-certificate-bound-access-tokens'),
      web: ['--id', 'web', '--type', 'confidential', '--auth-method', 'tls_client_auth',
        '--tls-client-auth-san-dns', 'client.example', '--grant-type', 'authorization_code',
        '--redirect-uri', `${issuer}/web/cb`, '--scope', 'openid profile'],
    }),
  }, (serve) => {
    as = serve.as;
  });

  const mtlsBase = () => `https://127.0.0.1:${env.port + 1}`;
  // Client metadata as oauth4webapi takes it, using the mTLS aliases.
  const mtlsClient = (c) => ({ client_id: c.client_id, use_mtls_endpoint_aliases: true });

  // A client credentials request of `c` with tls_client_auth through the alias, presenting `cert`.
  const clientCredentials = (c, cert, scope = 'invoices:read') =>
    oauth.clientCredentialsGrantRequest(as, mtlsClient(c), oauth.TlsClientAuth(),
      { scope }, withCert(cert));

  // RFC 6749 §5.2: 401 invalid_client, no token, refused by oauth4webapi too.
  async function assertInvalidClient(c, response, what) {
    const text = await response.clone().text();
    assert.equal(response.status, 401, `${what}: ${text}`);
    const body = JSON.parse(text);
    assert.equal(body.error, 'invalid_client', `${what}: ${text}`);
    assert.equal(body.access_token, undefined, what);
    assert.equal(body.refresh_token, undefined, what);
    await assert.rejects(oauth.processClientCredentialsResponse(as, mtlsClient(c), response),
      (e) => e.status === 401 && (e instanceof oauth.WWWAuthenticateChallengeError ||
        (e instanceof oauth.ResponseBodyError && e.error === 'invalid_client')), what);
  }

  // A self-signed client `c` whose certificate is certs.self: another self-signed one, a CA-issued
  // one, or none is invalid_client.
  async function assertOnlyItsCertificate(c) {
    for (const [what, cert] of [['another self-signed', certs.selfOther],
      ['CA-issued', certs.client], ['none', undefined]]) {
      await assertInvalidClient(c, await clientCredentials(c, cert), what);
    }
  }

  test('discovery: mtls_endpoint_aliases, bound tokens and both mTLS methods (RFC 8705 §2.1.1, §2.2.1, §3.3, §5)', async () => {
    assert.equal(as.issuer, `https://127.0.0.1:${env.port}`);
    assert.equal(as.token_endpoint, `${as.issuer}/token`);
    assert.deepEqual(as.mtls_endpoint_aliases, {
      token_endpoint: `${mtlsBase()}/token`,
      pushed_authorization_request_endpoint: `${mtlsBase()}/par`,
      device_authorization_endpoint: `${mtlsBase()}/device_authorization`,
      backchannel_authentication_endpoint: `${mtlsBase()}/bc-authorize`,
      introspection_endpoint: `${mtlsBase()}/introspect`,
      revocation_endpoint: `${mtlsBase()}/revoke`,
      userinfo_endpoint: `${mtlsBase()}/userinfo`,
    });
    assert.equal(as.tls_client_certificate_bound_access_tokens, true);
    for (const method of ['tls_client_auth', 'self_signed_tls_client_auth', 'client_secret_basic']) {
      assert.ok(as.token_endpoint_auth_methods_supported.includes(method),
        `${method} in ${as.token_endpoint_auth_methods_supported}`);
    }
  });

  test('the "listening" log line names the mTLS port', () => {
    const lines = (env.server.out() + env.server.err()).split('\n').filter((l) => l.startsWith('{'));
    const listening = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'listening');
    assert.ok(listening, `no "listening" line in ${lines.join('\n')}`);
    assert.equal(listening.port, env.port);
    assert.equal(listening.mtls_port, env.port + 1);
    assert.equal(listening.tls, true);
  });

  test('the CLI stored the clients as registered (IP normalised, one name each)', () => {
    assert.equal(env.pkiDns.token_endpoint_auth_method, 'tls_client_auth');
    assert.equal(env.pkiDns.tls_client_auth_san_dns, 'client.example');
    assert.equal(env.pkiDns.tls_client_certificate_bound_access_tokens, true);
    assert.equal(env.pkiDn.tls_client_auth_subject_dn, 'CN=client,O=Example');
    assert.equal(env.pkiDn.tls_client_certificate_bound_access_tokens, false);
    assert.equal(env.pkiIp.tls_client_auth_san_ip, '2001:db8::1');
    assert.equal(env.pkiUri.tls_client_auth_san_uri, 'urn:example:client');
    assert.equal(env.pkiEmail.tls_client_auth_san_email, 'client@example.com');
    assert.equal(env.pkiDns.client_secret, undefined);
    assert.equal(env.selfSigned.token_endpoint_auth_method, 'self_signed_tls_client_auth');
    assert.equal(env.selfSigned.client_secret, undefined);
  });

  test('oauth4webapi: tls_client_auth through the alias; the token is bound to the certificate (§2.1, §3.1)', async () => {
    const response = await clientCredentials(env.pkiDns, certs.client);
    assert.equal(response.status, 200, await response.clone().text());
    const result = await oauth.processClientCredentialsResponse(as, mtlsClient(env.pkiDns), response);
    assert.equal(result.token_type, 'bearer');
    assert.equal(result.scope, 'invoices:read');
    const claims = await accessTokenClaims(as, result.access_token);
    assert.equal(claims.client_id, env.pkiDns.client_id);
    assert.deepEqual([claims.aud].flat(), [INVOICES]);
    assert.deepEqual(claims.cnf, { 'x5t#S256': thumbprint(certs.client) });
    assert.notEqual(thumbprint(certs.client), thumbprint(certs.other));
  });

  test('oauth4webapi: every kind of registered name authenticates the matching certificate (§2.1.2)', async () => {
    for (const name of Object.keys(PKI_NAMES)) {
      const c = env[name];
      const response = await clientCredentials(c, certs.client);
      assert.equal(response.status, 200, `${name}: ${await response.clone().text()}`);
      const result = await oauth.processClientCredentialsResponse(as, mtlsClient(c), response);
      const claims = await accessTokenClaims(as, result.access_token);
      assert.equal(claims.client_id, c.client_id, name);
      // Only pkiDns was registered with --tls-client-certificate-bound-access-tokens.
      if (name === 'pkiDns') assert.equal(claims.cnf?.['x5t#S256'], thumbprint(certs.client));
      else assert.equal(claims.cnf, undefined, name);
    }
  });

  test('a certificate of the same CA with other names is invalid_client for every name kind', async () => {
    for (const name of Object.keys(PKI_NAMES)) {
      await assertInvalidClient(env[name], await clientCredentials(env[name], certs.other),
        `${name} with the other certificate`);
    }
  });

  test('the right names from a CA the server does not trust, or self-signed, are invalid_client (§2.1)', async () => {
    for (const [what, cert] of [['untrusted CA', certs.rogue], ['self-signed', certs.self]]) {
      for (const name of Object.keys(PKI_NAMES)) {
        await assertInvalidClient(env[name], await clientCredentials(env[name], cert),
          `${name} with the ${what} certificate`);
      }
    }
  });

  test('no certificate is invalid_client, through the alias and at the main token endpoint', async () => {
    await assertInvalidClient(env.pkiDns, await clientCredentials(env.pkiDns, undefined),
      'no certificate at the alias');
    // The main listener (client_auth: none) asks for no certificate: the one the client has
    // configured is never sent.
    const main = await oauth.clientCredentialsGrantRequest(as, { client_id: env.pkiDns.client_id },
      oauth.TlsClientAuth(), { scope: 'invoices:read' }, withCert(certs.client));
    await assertInvalidClient(env.pkiDns, main, 'the main token endpoint');
  });

  test('self_signed_tls_client_auth: the registered certificate works and binds the token (§2.2)', async () => {
    const response = await clientCredentials(env.selfSigned, certs.self);
    assert.equal(response.status, 200, await response.clone().text());
    const result = await oauth.processClientCredentialsResponse(as, mtlsClient(env.selfSigned), response);
    const claims = await accessTokenClaims(as, result.access_token);
    assert.equal(claims.client_id, env.selfSigned.client_id);
    assert.deepEqual(claims.cnf, { 'x5t#S256': thumbprint(certs.self) });
  });

  test('self_signed_tls_client_auth: another certificate, even with the same names or a trusted chain, is invalid_client', async () => {
    await assertOnlyItsCertificate(env.selfSigned);
  });

  test('self_signed_tls_client_auth with the certificate at the client\'s jwks_uri (§2.2.2)', async () => {
    const response = await clientCredentials(env.selfSignedUri, certs.self);
    assert.equal(response.status, 200, await response.clone().text());
    const result = await oauth.processClientCredentialsResponse(as, mtlsClient(env.selfSignedUri), response);
    const claims = await accessTokenClaims(as, result.access_token);
    assert.equal(claims.client_id, env.selfSignedUri.client_id);
    assert.deepEqual(claims.cnf, { 'x5t#S256': thumbprint(certs.self) });
    await assertOnlyItsCertificate(env.selfSignedUri);
    // The client publishes another certificate: the set is fetched again for it, at most once
    // per 30 s after the last fetch, so it is refused until then.
    published = publishedCertificate(certs.selfOther);
    await assertInvalidClient(env.selfSignedUri,
      await clientCredentials(env.selfSignedUri, certs.selfOther), 'within 30 s of the last fetch');
  });

  // Introspection of `token` by client `c` through the alias, presenting `cert`.
  const introspect = async (c, token, cert) => oauth.processIntrospectionResponse(as, mtlsClient(c),
    await oauth.introspectionRequest(as, mtlsClient(c), oauth.TlsClientAuth(), token, withCert(cert)));

  test('introspection through the alias shows the bound JWT with its cnf (§3.2)', async () => {
    const issued = await oauth.processClientCredentialsResponse(as, mtlsClient(env.pkiDns),
      await clientCredentials(env.pkiDns, certs.client));
    const info = await introspect(env.pkiDns, issued.access_token, certs.client);
    assert.equal(info.active, true);
    assert.equal(info.client_id, env.pkiDns.client_id);
    assert.equal(info.scope, 'invoices:read');
    assert.deepEqual(info.cnf, { 'x5t#S256': thumbprint(certs.client) });
    // The introspecting client authenticates by certificate too.
    await assert.rejects(introspect(env.pkiDns, issued.access_token, certs.other),
      (e) => e.status === 401);
    await assert.rejects(introspect(env.pkiDns, issued.access_token, undefined),
      (e) => e.status === 401);
  });

  test('an opaque bound token: introspection through the alias shows cnf; revocation through the alias ends it', async () => {
    const issued = await oauth.processClientCredentialsResponse(as, mtlsClient(env.opaque),
      await clientCredentials(env.opaque, certs.client));
    assert.equal(issued.access_token.split('.').length, 1, 'opaque, not a JWT');
    const info = await introspect(env.opaque, issued.access_token, certs.client);
    assert.equal(info.active, true);
    assert.equal(info.client_id, env.opaque.client_id);
    assert.deepEqual(info.cnf, { 'x5t#S256': thumbprint(certs.client) });
    // Revoking with the wrong certificate is refused and leaves the token alone.
    await assert.rejects(async () => oauth.processRevocationResponse(
      await oauth.revocationRequest(as, mtlsClient(env.opaque), oauth.TlsClientAuth(),
        issued.access_token, withCert(certs.other))), (e) => e.status === 401);
    assert.equal((await introspect(env.opaque, issued.access_token, certs.client)).active, true);
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, mtlsClient(env.opaque),
      oauth.TlsClientAuth(), issued.access_token, withCert(certs.client)));
    assert.deepEqual(await introspect(env.opaque, issued.access_token, certs.client), { active: false });
  });

  test('PAR through the alias with tls_client_auth: 201 with the certificate, 401 without the right one', async () => {
    const c = mtlsClient(env.web);
    const push = async (cert) => oauth.pushedAuthorizationRequest(as, c, oauth.TlsClientAuth(),
      (await authorizationRequest(env.web, { scope: 'openid' })).params, withCert(cert));
    const good = await push(certs.client);
    assert.equal(good.status, 201, await good.clone().text());
    const pushed = await oauth.processPushedAuthorizationResponse(as, c, good);
    assert.match(pushed.request_uri, /^urn:ietf:params:oauth:request_uri:/);
    for (const [what, cert] of [['other', certs.other], ['rogue', certs.rogue], ['none', undefined]]) {
      const refused = await push(cert);
      assert.equal(refused.status, 401, `${what}: ${await refused.clone().text()}`);
      assert.equal((await refused.json()).error, 'invalid_client', what);
    }
  });

  test('openid-client: clientCredentialsGrant with TlsClientAuth and use_mtls_endpoint_aliases', async () => {
    const config = await client.discovery(new URL(env.issuer), env.pkiDns.client_id,
      { use_mtls_endpoint_aliases: true }, client.TlsClientAuth(),
      { [client.customFetch]: tlsFetch() });
    config[client.customFetch] = tlsFetch(certs.client);
    const tokens = await client.clientCredentialsGrant(config, { scope: 'invoices:read' });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    const claims = await accessTokenClaims(as, tokens.access_token);
    assert.equal(claims.client_id, env.pkiDns.client_id);
    assert.equal(claims.cnf?.['x5t#S256'], thumbprint(certs.client));

    config[client.customFetch] = tlsFetch(certs.other);
    await assert.rejects(client.clientCredentialsGrant(config, { scope: 'invoices:read' }),
      (e) => e.status === 401);
  });
});
