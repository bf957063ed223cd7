// Signs a user in through Tessera's own login, second-factor and consent pages over plain HTTP
// (no browser): what a person does with the forms, with a cookie jar. The browser tests drive
// the same pages in chromium; these helpers let the protocol tests reach the code quickly.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';

// A minimal cookie jar: name -> value for one origin.
export class CookieJar {
  constructor() { this.cookies = new Map(); }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
  take(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === '') this.cookies.delete(name); else this.cookies.set(name, value);
    }
  }
}

// Fetch without following redirects, with the jar's cookies.
export async function visit(jar, url, { method = 'GET', form, headers = {} } = {}) {
  const init = { method, redirect: 'manual', headers: { ...headers } };
  if (jar.cookies.size) init.headers.cookie = jar.header();
  if (form) {
    init.body = new URLSearchParams(form).toString();
    init.headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const response = await fetch(url, init);
  jar.take(response);
  return { response, status: response.status, text: await response.text() };
}

// The first form of an HTML page: its action and every hidden input.
export function parseForm(html) {
  const action = /<form[^>]*action="([^"]*)"/.exec(html)?.[1];
  assert.ok(action, `no form in page: ${html.slice(0, 400)}`);
  const fields = {};
  for (const m of html.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(m[0])?.[1];
    const value = /value="([^"]*)"/.exec(m[0])?.[1] ?? '';
    if (name) fields[name] = unescapeHtml(value);
  }
  return { action: unescapeHtml(action), fields };
}

function unescapeHtml(s) {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#x27;/g, "'")
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) from a base32 secret, for bob.
export function totp(base32, time = Date.now() / 1000) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/=+$/, '').toUpperCase()) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  }
  const bytes = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(time / 30)));
  const mac = createHmac('sha1', bytes).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, '0');
}

// Walks from an authorization URL to the client's redirect: login (user.username,
// user.password), the TOTP page when the server shows it (user.totp_secret), consent
// (`decision`, default allow). Returns the final redirect URL (or the last page when the server
// answered a page, e.g. form_post: then `formPost` holds that page's form). `jar` keeps the
// browser session between calls. `pages` lists the kinds of page walked through ('device',
// 'login', 'totp', 'consent'); `shown` maps each of those kinds to the HTML of its page as the
// server answered it (the last one of the kind), e.g. to check what the consent page said. From
// a device verification URI (RFC 8628 §3.3) it types the code first and ends on the server's
// outcome page (`page`).
//
// RFC 6238 §5.2: a TOTP code is good once. When the code of this 30 s step was already spent
// (an earlier sign-in of the same user), the page says so and the code of the next step, within
// the server's one-step drift window, is sent instead.
export async function signIn(authorizeUrl, user, { jar = new CookieJar(), decision = 'allow', origin, userCode } = {}) {
  const base = new URL(authorizeUrl);
  const pages = [];
  const shown = {};
  const seen = (kind) => {
    pages.push(kind);
    shown[kind] = page.text;
  };
  let page = await visit(jar, authorizeUrl);
  let totpStep = 0;
  for (let step = 0; step < 8; step++) {
    if (page.status === 303 || page.status === 302) {
      return { location: new URL(page.response.headers.get('location'), base), jar, page, pages, shown };
    }
    if (page.status !== 200 && page.status !== 401) return { page, jar, pages, shown };
    if (!/<form/.test(page.text)) return { page, jar, pages, shown };
    const form = parseForm(page.text);
    // Tessera's own pages carry a sealed interaction; any other form (form_post) is the answer.
    if (!('interaction' in form.fields)) return { page, jar, pages, shown, formPost: form };
    const target = new URL(form.action, base).toString();
    const headers = origin ? { origin } : {};
    if (/name="password"/.test(page.text)) {
      if (page.status === 401) return { page, jar, pages, shown };  // wrong password: no second try
      seen('login');
      page = await visit(jar, target, { method: 'POST', headers, form: { ...form.fields, username: user.username, password: user.password } });
    } else if (/<input(?![^>]*type="hidden")[^>]*name="code"/.test(page.text)) {
      if (page.status === 401) {
        if (totpStep >= 1) return { page, jar, pages, shown };
        totpStep += 1;
      }
      seen('totp');
      const code = totp(user.totp_secret, Date.now() / 1000 + 30 * totpStep);
      page = await visit(jar, target, { method: 'POST', headers, form: { ...form.fields, code } });
    } else if (/<input(?![^>]*type="hidden")[^>]*name="user_code"/.test(page.text)) {
      // RFC 8628 §3.3: the device code page, prefilled from verification_uri_complete unless
      // `userCode` says what to type.
      if (pages.includes('device')) return { page, jar, pages, shown };  // refused: no second try
      seen('device');
      const prefilled = /name="user_code"[^>]*value="([^"]*)"/.exec(page.text)?.[1] ?? '';
      page = await visit(jar, target, { method: 'POST', headers, form: { ...form.fields, user_code: userCode ?? prefilled } });
    } else if (/name="decision"/.test(page.text) && /value="allow"/.test(page.text)) {
      seen('consent');
      page = await visit(jar, target, { method: 'POST', headers, form: { ...form.fields, decision } });
    } else {
      return { page, jar, pages, shown };
    }
  }
  throw new Error('too many pages');
}
