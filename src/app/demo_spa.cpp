#include "app/demo_spa.h"

#include <string>
#include <string_view>

#include "core/base64url.h"
#include "core/crypto.h"
#include "http/message.h"
#include "oauth/pages.h"

namespace tessera::app {

namespace {

// The page's one stylesheet. Its hash goes into style-src, computed from this very text, so an
// edit can never leave a stale hash behind (as src/oauth/pages.cpp does for the AS pages).
constexpr std::string_view kStyle =
    ":root{color-scheme:light dark;--fg:#1b1f24;--muted:#57606a;--bg:#f6f8fa;--card:#fff;"
    "--line:#8c959f;--accent:#0b5cad;--accent-fg:#fff;--err:#b42318;--err-bg:#fef3f2;"
    "--ok:#1a7f37}"
    "@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9da7b3;--bg:#0d1117;"
    "--card:#161b22;--line:#6e7681;--accent:#58a6ff;--accent-fg:#0d1117;--err:#ffa198;"
    "--err-bg:#3c1618;--ok:#3fb950}}"
    "*{box-sizing:border-box}[hidden]{display:none!important}"
    "body{margin:0;padding:1rem;background:var(--bg);color:var(--fg);"
    "font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}"
    "main{max-width:48rem;margin:0 auto;padding:1.5rem;background:var(--card);"
    "border:1px solid var(--line);border-radius:12px}"
    "h1{font-size:1.4rem;line-height:1.25;margin:0 0 .5rem}"
    "h2{font-size:1.15rem;margin:1.5rem 0 .5rem}"
    "h3{font-size:1rem;margin:0 0 .25rem;overflow-wrap:anywhere}"
    "p{margin:.5rem 0}.muted{color:var(--muted)}"
    "button{display:block;width:100%;max-width:20rem;margin-top:1rem;padding:.7rem;font:inherit;"
    "font-weight:600;color:var(--accent-fg);background:var(--accent);"
    "border:1px solid var(--accent);border-radius:8px;cursor:pointer}"
    "button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}"
    ".error{padding:.6rem .75rem;color:var(--err);background:var(--err-bg);border-radius:8px}"
    ".call{margin:1rem 0;padding:.75rem;border:1px solid var(--line);border-radius:8px}"
    ".call .status{font-weight:600;margin:.25rem 0}"
    ".call[data-status^=\"2\"] .status{color:var(--ok)}"
    ".call[data-status^=\"4\"] .status,.call[data-status^=\"5\"] .status{color:var(--err)}"
    "pre{margin:0;padding:.5rem;overflow:auto;white-space:pre-wrap;"
    "overflow-wrap:anywhere;background:var(--bg);border-radius:6px;"
    "font:.85rem/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}"
    "code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;overflow-wrap:anywhere}";

// One result box per gateway call; app.js fills the status line and the body.
constexpr std::string_view kCall =
    "<section class=\"call\" id=\"r-{id}\" aria-labelledby=\"h-{id}\">\n"
    "<h3 id=\"h-{id}\">GET {path} <span class=\"muted\">{how}</span></h3>\n"
    "<p class=\"status\">Not called yet</p>\n<pre></pre>\n</section>\n";

std::string call_box(std::string_view id, std::string_view path, std::string_view how) {
  std::string out(kCall);
  auto replace_all = [&out](std::string_view from, std::string_view to) {
    for (size_t at = out.find(from); at != std::string::npos; at = out.find(from, at + to.size())) {
      out.replace(at, from.size(), to);
    }
  };
  replace_all("{id}", id);
  replace_all("{path}", path);
  replace_all("{how}", how);
  return out;
}

std::string page_html(const std::string& gateway_url) {
  std::string h;
  h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
      .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
      .append("<meta name=\"robots\" content=\"noindex, nofollow\">\n")
      // A data: icon keeps the browser from asking for /favicon.ico (img-src allows data: only).
      .append("<link rel=\"icon\" href=\"data:,\">\n")
      .append("<title>Tessera demo: invoices</title>\n<style>")
      .append(kStyle)
      .append("</style>\n<script src=\"/demo/app.js\" defer></script>\n</head>\n")
      .append("<body data-state=\"loading\" data-gateway=\"")
      .append(oauth::pages::escape(gateway_url))
      .append("\">\n<main>\n<h1>Invoices demo</h1>\n")
      .append("<p class=\"muted\">A browser app signing in with the authorization code flow and ")
      .append("PKCE, then calling the invoices API through the gateway.</p>\n")
      .append("<noscript><p class=\"error\">This page needs JavaScript.</p></noscript>\n")
      .append("<p id=\"progress\" role=\"status\"></p>\n")
      .append("<p id=\"error\" class=\"error\" role=\"alert\" hidden></p>\n")
      .append("<section id=\"signed-out\" hidden>\n")
      .append("<p>Sign in as one of the demo users to see what the APIs let them do.</p>\n")
      .append("<button id=\"sign-in\" type=\"button\">Sign in</button>\n</section>\n")
      .append("<section id=\"signed-in\" hidden aria-labelledby=\"h-calls\">\n")
      .append("<p>Signed in as <code id=\"who\"></code></p>\n")
      .append("<h2 id=\"h-calls\">Calls through the gateway</h2>\n")
      .append(call_box("invoices", "/invoices", "with the access token"))
      .append(call_box("inv-1", "/invoices/inv-1", "with the access token"))
      .append(call_box("inv-2", "/invoices/inv-2", "with the access token"))
      .append(call_box("chain", "/chain/invoices/inv-1", "with the access token"))
      .append(call_box("no-token", "/invoices", "without a token"))
      .append("</section>\n</main>\n</body>\n</html>\n");
  return h;
}

// CSP3: no inline script at all (the script is /demo/app.js, 'self'); fetch to this origin (the
// token endpoint) and the gateway's; the one inline style by its hash (CSP3 §2.3.1
// hash-source); no <base>, no framing (RFC 6749 §10.13), forms only to this origin.
std::string page_csp(const std::string& gateway_url) {
  std::string connect = "'self'";
  // csp_form_target gives 'none' for a URL that is no http(s) origin: leave it out then, the
  // page can still reach its own origin and the gateway calls fail visibly.
  if (std::string gateway = oauth::pages::csp_form_target(gateway_url); gateway != "'none'") {
    connect.append(" ").append(gateway);
  }
  return "default-src 'none'; script-src 'self'; connect-src " + connect + "; style-src 'sha256-" +
         base64::encode(crypto::sha256(kStyle)) +
         "'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
}

// The page's script. The access token lives in a variable of this closure only: never in
// storage, cookies or the URL. sessionStorage holds the PKCE verifier, state and nonce for the
// one round trip through /authorize, and is cleared when the browser comes back.
constexpr std::string_view kScript = R"js('use strict';
// Tessera demo single-page app (served by src/app/demo_spa.cpp). Code flow with PKCE as the
// public client `spa` (RFC 6749 §4.1, RFC 7636), then the invoices API through the gateway.
(() => {
  const origin = window.location.origin;
  const appPath = '/demo/app';
  const redirectUri = origin + appPath;
  const clientId = 'spa';
  const scope = 'openid invoices:read invoices:write';
  const pendingKey = 'tessera-demo-authorization';
  const gateway = document.body.dataset.gateway;
  const calls = [
    { id: 'r-invoices', path: '/invoices', withToken: true },
    { id: 'r-inv-1', path: '/invoices/inv-1', withToken: true },
    { id: 'r-inv-2', path: '/invoices/inv-2', withToken: true },
    { id: 'r-chain', path: '/chain/invoices/inv-1', withToken: true },
    { id: 'r-no-token', path: '/invoices', withToken: false },
  ];

  const byId = (id) => document.getElementById(id);
  const progress = (text) => { byId('progress').textContent = text; };

  function fail(message) {
    const box = byId('error');
    box.textContent = message;
    box.hidden = false;
    progress('');
    document.body.dataset.state = 'error';
  }

  // RFC 4648 §5 base64url, no padding (RFC 7636 Appendix A).
  function base64url(buffer) {
    let binary = '';
    for (const b of new Uint8Array(buffer)) binary += String.fromCharCode(b);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function randomString(octets) {
    return base64url(crypto.getRandomValues(new Uint8Array(octets)));
  }

  function jwtPayload(jwt) {
    const part = String(jwt).split('.')[1] || '';
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)),
      (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  async function signIn() {
    // RFC 7636 §4.1: 32 random octets give a 43-character verifier; §4.2: S256 challenge.
    const verifier = randomString(32);
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
    // RFC 6749 §10.12 (state, against CSRF) and OpenID Core §3.1.2.1 (nonce, against replay).
    const state = randomString(16);
    const nonce = randomString(16);
    sessionStorage.setItem(pendingKey, JSON.stringify({ verifier, state, nonce }));
    const url = new URL('/authorize', origin);
    url.search = new URLSearchParams({
      response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope, state, nonce,
      code_challenge: base64url(digest), code_challenge_method: 'S256',
    }).toString();
    window.location.assign(url.href);
  }

  async function redeem(params) {
    let pending = null;
    try {
      pending = JSON.parse(sessionStorage.getItem(pendingKey) || 'null');
    } catch {
      pending = null;
    }
    // One round trip, one use; and the code leaves the address bar and the history at once.
    sessionStorage.removeItem(pendingKey);
    history.replaceState(null, '', appPath);
    // RFC 6749 §10.12: the response must belong to the request this browser made.
    if (!pending || typeof pending.state !== 'string' || params.get('state') !== pending.state) {
      throw new Error('The sign-in answer does not match a sign-in started here (state ' +
        'mismatch). Sign in again.');
    }
    // RFC 9207 §2.4: the answer must come from the authorization server we sent the user to.
    if (!params.has('iss')) throw new Error('The sign-in answer names no issuer (iss).');
    if (params.get('iss') !== origin) {
      throw new Error(`The sign-in answer names the issuer ${params.get('iss')}, not ${origin}.`);
    }
    // RFC 6749 §4.1.2.1.
    if (params.has('error')) {
      const description = params.get('error_description');
      throw new Error(`Sign-in ended with ${params.get('error')}` +
        (description ? `: ${description}` : '.'));
    }
    const code = params.get('code');
    if (!code) throw new Error('The sign-in answer has no code.');

    progress('Redeeming the code...');
    // RFC 6749 §4.1.3 with the RFC 7636 §4.5 verifier; a public client sends its client_id.
    const response = await fetch('/token', {
      method: 'POST',
      credentials: 'omit',
      cache: 'no-store',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code, redirect_uri: redirectUri,
        code_verifier: pending.verifier, client_id: clientId,
      }).toString(),
    });
    let tokens = null;
    try {
      tokens = await response.json();
    } catch {
      tokens = null;
    }
    if (!response.ok || !tokens || typeof tokens.access_token !== 'string') {
      const why = tokens && tokens.error
        ? `${tokens.error}: ${tokens.error_description || ''}` : '';
      throw new Error(`The token endpoint answered ${response.status}. ${why}`);
    }
    // RFC 6749 §7.1: this page only knows how to use Bearer tokens (RFC 6750).
    if (String(tokens.token_type).toLowerCase() !== 'bearer') {
      throw new Error(`Unexpected token type ${tokens.token_type}.`);
    }
    // OpenID Core §3.1.3.7: iss, aud and nonce of the ID token. It came straight from this
    // origin's token endpoint; step 6 lets that connection (TLS outside the demo) stand in for
    // checking its signature.
    const id = jwtPayload(tokens.id_token);
    const audiences = [id.aud].flat();
    if (id.iss !== origin || !audiences.includes(clientId) || id.nonce !== pending.nonce) {
      throw new Error('The ID token is not for this sign-in (iss, aud or nonce differ).');
    }
    return { accessToken: tokens.access_token, subject: id.sub };
  }

  async function callApi(call, accessToken) {
    const headers = call.withToken ? { authorization: `Bearer ${accessToken}` } : {};
    let response;
    try {
      response = await fetch(gateway + call.path,
        { headers, credentials: 'omit', cache: 'no-store' });
    } catch (e) {
      throw new Error(`GET ${call.path} through the gateway failed: ${e.message}`);
    }
    const text = await response.text();
    let body = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`GET ${call.path} answered ${response.status}, not with JSON.`);
      }
    }
    const box = byId(call.id);
    box.querySelector('.status').textContent = `${response.status} ${response.statusText}`.trim();
    const challenge = response.headers.get('www-authenticate');
    const shown = body === null ? '(no body)' : JSON.stringify(body, null, 2);
    box.querySelector('pre').textContent =
      challenge ? `WWW-Authenticate: ${challenge}\n\n${shown}` : shown;
    box.dataset.status = String(response.status);
  }

  async function start() {
    if (!window.isSecureContext || !crypto.subtle) {
      throw new Error('This page needs a secure context (https or a loopback address).');
    }
    const params = new URLSearchParams(window.location.search);
    if (!params.has('code') && !params.has('error')) {
      byId('signed-out').hidden = false;
      byId('sign-in').addEventListener('click', () => {
        byId('sign-in').disabled = true;
        signIn().catch((e) => fail(e.message));
      });
      document.body.dataset.state = 'signed-out';
      return;
    }
    document.body.dataset.state = 'working';
    const { accessToken, subject } = await redeem(params);
    byId('who').textContent = subject;
    byId('who').dataset.sub = subject;
    byId('signed-in').hidden = false;
    progress('Calling the APIs...');
    for (const call of calls) await callApi(call, accessToken);
    progress('Done: every answer is below.');
    document.body.dataset.state = 'done';
  }

  start().catch((e) => fail(e.message));
})();
)js";

http::Response with_common_headers(http::Response r) {
  r.headers.set("Cache-Control", "no-store");
  r.headers.set("X-Content-Type-Options", "nosniff");
  // The authorization response's code is in the address until the script removes it: keep it
  // out of Referer (RFC 9700 §4.2.4).
  r.headers.set("Referrer-Policy", "no-referrer");
  return r;
}

}  // namespace

void add_demo_spa(http::Router& router, const std::string& gateway_url) {
  router.get("/demo/app",
             [html = page_html(gateway_url), policy = page_csp(gateway_url)](const http::Request&) {
               http::Response r =
                   with_common_headers(http::Response::text(200, html, "text/html; charset=utf-8"));
               r.headers.set("Content-Security-Policy", policy);
               r.headers.set("X-Frame-Options", "DENY");
               return r;
             });
  router.get("/demo/app.js", [](const http::Request&) {
    return with_common_headers(
        http::Response::text(200, std::string(kScript), "text/javascript; charset=utf-8"));
  });
}

}  // namespace tessera::app
