// DPoP proofs (RFC 9449 §4.2) for the DPoP token-endpoint benchmark (dpop.sh). A proof is single
// use (the server keeps a replay cache of jti values, §11.1) and its iat must be recent (60 s at
// Tessera's token endpoint), so dpop.sh makes them right before the wrk run.
//
//   node seed_dpop.mjs HTU COUNT [PROCESSES [SIGNER]]
//     Prints COUNT proofs for "POST HTU", one per line: header typ dpop+jwt, alg ES256, jwk the
//     public key; claims htm POST, htu HTU, jti unique, iat the time it was signed. Split over
//     PROCESSES node processes (default 1), each with a key pair of its own.
//     SIGNER "node" (default): jose makes the key pair, the JWK and the base64url; the ES256
//       signature is node:crypto's sign() (OpenSSL, IEEE P1363 r||s as RFC 7518 §3.4 asks), and
//       each process first checks one of its proofs with jose.jwtVerify. About 3x jose's
//       throughput per core: SignJWT goes through WebCrypto's asynchronous sign, which on this
//       2-core machine makes ~13,000 proofs/s with both cores busy against ~25,000/s per core.
//     SIGNER "jose": every proof made by jose's SignJWT.
//
//   node seed_dpop.mjs --check ISSUER CLIENT_ID CLIENT_SECRET
//     One client credentials request with a fresh proof: the answer must be a 200 with
//     token_type DPoP whose access token (verified with jose against the issuer's JWKS) carries
//     cnf.jkt = the RFC 7638 thumbprint of the proof's key; the same proof sent again must be
//     refused (400 invalid_dpop_proof). Prints one line; exits 1 otherwise.
import { spawn } from 'node:child_process';
import { KeyObject, randomBytes, sign } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';

const BATCH = 512;  // proofs signed concurrently (jose signs through WebCrypto, asynchronously)

async function keyPair() {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
  return { privateKey, publicKey, jwk: await jose.exportJWK(publicKey) };
}

const json64 = (value) => jose.base64url.encode(JSON.stringify(value));
const now = () => Math.floor(Date.now() / 1000);

// COUNT proofs with one key, handed to `out` in batches; jti = a random prefix of this process
// and a counter.
async function proofs(htu, count, out, signer = 'node') {
  const { privateKey, publicKey, jwk } = await keyPair();
  const prefix = randomBytes(12).toString('base64url');
  const header = { alg: 'ES256', typ: 'dpop+jwt', jwk };
  const claims = (i) => ({ htm: 'POST', htu, jti: `${prefix}.${i}` });
  let make;
  if (signer === 'jose') {
    make = (i) => new jose.SignJWT(claims(i)).setProtectedHeader(header).setIssuedAt()
      .sign(privateKey);
  } else if (signer === 'node') {
    const key = KeyObject.from(privateKey);
    const encodedHeader = json64(header);
    make = (i) => {
      const input = `${encodedHeader}.${json64({ ...claims(i), iat: now() })}`;
      const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
      return `${input}.${jose.base64url.encode(signature)}`;
    };
  } else {
    throw new Error(`unknown signer ${signer}`);
  }
  // Whatever signs, jose must accept the result as a DPoP proof of this key.
  const { payload } = await jose.jwtVerify(await make(-1), jose.EmbeddedJWK,
    { algorithms: ['ES256'], typ: 'dpop+jwt', maxTokenAge: '60s' });
  if (payload.htu !== htu || payload.htm !== 'POST') throw new Error('bad test proof');
  for (let done = 0; done < count;) {
    const n = Math.min(BATCH, count - done);
    const batch = [];
    for (let i = 0; i < n; i++) batch.push(make(done + i));
    out((await Promise.all(batch)).join('\n') + '\n');
    done += n;
  }
}

// Splits COUNT over PROCESSES children of this script; their outputs are written in order.
async function parallel(htu, count, processes, signer) {
  const self = fileURLToPath(import.meta.url);
  const children = [];
  for (let p = 0; p < processes; p++) {
    const share = Math.floor(count / processes) + (p < count % processes ? 1 : 0);
    const child = spawn(process.execPath, [self, htu, String(share), '1', signer],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks = [];
    child.stdout.on('data', (chunk) => chunks.push(chunk));
    children.push(new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(chunks)
        : reject(new Error(`proof process ${p} exited with ${code}`))));
    }));
  }
  for (const chunks of await Promise.all(children)) {
    for (const chunk of chunks) process.stdout.write(chunk);
  }
}

const basic = (id, secret) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');

async function check(issuer, clientId, secret) {
  const meta = await (await fetch(new URL('/.well-known/oauth-authorization-server', issuer))).json();
  const htu = new URL('/token', issuer).href;
  if (meta.token_endpoint !== htu) throw new Error(`token_endpoint ${meta.token_endpoint} is not ${htu}`);
  if (!meta.dpop_signing_alg_values_supported?.includes('ES256')) {
    throw new Error(`ES256 not in dpop_signing_alg_values_supported: ${meta.dpop_signing_alg_values_supported}`);
  }
  let proof = '';
  await proofs(htu, 1, (line) => { proof = line.trim(); });
  const ask = () => fetch(htu, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(clientId, secret),
      dpop: proof,
    },
    body: 'grant_type=client_credentials&scope=invoices%3Aread',
  });
  const first = await ask();
  const body = await first.json();
  if (first.status !== 200 || body.token_type !== 'DPoP') {
    throw new Error(`DPoP token request: ${first.status} ${JSON.stringify(body)}`);
  }
  const jkt = await jose.calculateJwkThumbprint(jose.decodeProtectedHeader(proof).jwk, 'sha256');
  const { payload, protectedHeader } = await jose.jwtVerify(body.access_token,
    jose.createRemoteJWKSet(new URL(meta.jwks_uri)),
    { issuer: meta.issuer, algorithms: ['ES256'], typ: 'at+jwt' });
  if (payload.cnf?.jkt !== jkt) throw new Error(`cnf ${JSON.stringify(payload.cnf)}, proof key ${jkt}`);
  const again = await ask();
  const replay = await again.json();
  if (again.status !== 400 || replay.error !== 'invalid_dpop_proof') {
    throw new Error(`a replayed proof was answered ${again.status} ${JSON.stringify(replay)}`);
  }
  console.log(`dpop check: token_type DPoP, ${protectedHeader.alg} JWT verified against the JWKS ` +
    `with cnf.jkt = the proof key's thumbprint, ${JSON.stringify(body).length}-byte answer, ` +
    `${proof.length}-byte proof; the same proof again: ${again.status} ${replay.error}`);
}

const args = process.argv.slice(2);
if (args[0] === '--check' && args.length === 4) {
  await check(args[1], args[2], args[3]);
} else if (args.length >= 2 && args.length <= 4) {
  const [htu, count, processes = '1', signer = 'node'] = args;
  if (Number(processes) > 1) await parallel(htu, Number(count), Number(processes), signer);
  else await proofs(htu, Number(count), (text) => process.stdout.write(text), signer);
} else {
  console.error('usage: seed_dpop.mjs HTU COUNT [PROCESSES [node|jose]] | --check ISSUER CLIENT_ID SECRET');
  process.exit(2);
}
