// The comparison server for bench/oauth/compare.sh: oidc-provider (npm, pinned in package.json)
// configured like `tessera demo`'s service client. One confidential client (client_secret_basic)
// with the client credentials grant; resource indicators (RFC 8707) on, with a default resource
// whose tokens are RFC 9068 JWT access tokens signed ES256 with a P-256 key generated at start
// (jose); no dev interactions, no other feature; plain http on 127.0.0.1; no request logging
// (Tessera's access log goes to a file; oidc-provider has none by default).
//
//   node oidc_provider.mjs PORT CLIENT_ID CLIENT_SECRET [WORKERS]
//
// WORKERS (default 1, how Node serves by default) forks that many processes with node:cluster
// sharing the port; the client and signing key are the same in all of them (the key is made
// by the primary and handed over). Prints "ready" on stdout once every worker listens.
import cluster from 'node:cluster';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, workersArg] = process.argv.slice(2);
if (!clientSecret) {
  console.error('usage: oidc_provider.mjs PORT CLIENT_ID CLIENT_SECRET [WORKERS]');
  process.exit(2);
}
const workers = Number(workersArg || 1);
const AUDIENCE = 'urn:tessera:api:invoices';
const SCOPE = 'invoices:read invoices:write';

async function signingKey() {
  const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'bench-es256' };
}

async function serve(jwk) {
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      // The only key is P-256: the default RS256 for ID tokens would have no key.
      id_token_signed_response_alg: 'ES256',
      scope: SCOPE,
    }],
    jwks: { keys: [jwk] },
    scopes: SCOPE.split(' '),
    cookies: { keys: ['bench-cookie-key-not-used-by-client-credentials'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator) => {
          if (resourceIndicator !== AUDIENCE) throw new Error(`unknown resource ${resourceIndicator}`);
          return {
            scope: SCOPE,
            audience: AUDIENCE,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
  });
  await new Promise((resolve) => provider.listen(Number(port), '127.0.0.1', resolve));
}

if (workers <= 1) {
  await serve(await signingKey());
  process.stdout.write('ready\n');
} else if (cluster.isPrimary) {
  const jwk = await signingKey();
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    const worker = cluster.fork({ BENCH_JWK: JSON.stringify(jwk) });
    worker.on('message', (m) => {
      if (m === 'listening' && ++listening === workers) process.stdout.write('ready\n');
    });
  }
  // The bench stops the primary; the workers go with it.
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers)) w.kill();
    process.exit(0);
  });
} else {
  await serve(JSON.parse(process.env.BENCH_JWK));
  process.send('listening');
}
