// The OAuth 2.0 / OpenID Connect provider of the contract suite's OAuth
// cases (examples/contract-suite/src/oidc.rs), and a GitHub stand-in.
//
//   node provider.mjs [--port N]          (default 0: any free port)
//
// Listens on 127.0.0.1 and prints one JSON line on stdout:
//   {"issuer", "github_authorize_url", "github_token_url", "github_api_url",
//    "client_id", "client_secret"}
// then serves until its stdin closes.
//
// OpenID Connect is oauth2-mock-server (pinned by package-lock.json), driven
// through its events; this file adds what a real provider checks and the
// mock does not: a known client, its secret (client_secret_basic or
// client_secret_post), single-use codes bound to their client and
// redirect_uri, PKCE S256 required, `iss` in the authorization response
// (RFC 9207) and the identity in the ID token and at /userinfo.
//
// The test picks the identity and a fault with query parameters it appends
// to the authorization URL (the server's `Location`):
//   test_sub, test_email, test_email_verified (true|false), test_name,
//   test_fault: wrong_aud, wrong_iss, wrong_nonce, expired, bad_signature,
//     unknown_kid, alg_none, no_id_token (the ID token); token_500,
//     token_400, garbage_token, slow_token (10 s) (the token endpoint);
//     wrong_iss_param (the callback's `iss`); access_denied (the callback
//     gets error=access_denied).
//
// The GitHub stand-in (same process, same test_* parameters; test_sub is
// numeric): /github/login/oauth/authorize, /github/login/oauth/access_token
// (form POST; JSON when asked with Accept: application/json, else a form),
// /github-api/user and /github-api/user/emails (Bearer or `token` auth and a
// User-Agent, as GitHub's API wants; the emails need the user:email scope).
import http from "node:http";
import { createHash, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { OAuth2Issuer, OAuth2Service } from "oauth2-mock-server";

// The test that started this provider holds its stdin open: once that
// closes (the test ended, or died), so does the provider.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();

const CLIENT_ID = "test-client";
const CLIENT_SECRET = "test-secret";
const CODE_TTL_MS = 60_000;
const SLOW_MS = 10_000;
const portArg = process.argv.indexOf("--port");
const port = portArg === -1 ? 0 : Number(process.argv[portArg + 1]);

const issuer = new OAuth2Issuer();
// Three signing keys, used in turn (two tokens per token response): ID
// tokens come from each key in turn, so the server must pick keys by `kid`.
for (let i = 0; i < 3; i += 1) await issuer.keys.generate("RS256");
const service = new OAuth2Service(issuer);
// Signs the `unknown_kid` ID tokens: a key no JWKS lists.
const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 });

/** Pending codes (both providers): code -> what the authorization request said. */
const codes = new Map();
/** Access tokens -> identity, for /userinfo and GitHub's API. */
const accessTokens = new Map();

const b64url = (value) => Buffer.from(value).toString("base64url");
const s256 = (verifier) => createHash("sha256").update(verifier).digest("base64url");
const now = () => Math.floor(Date.now() / 1000);

/** The identity and fault the test chose with test_* parameters. */
function testParams(query, defaultSub) {
  return {
    sub: query.get("test_sub") ?? defaultSub,
    email: query.get("test_email") ?? "oauth-user@example.com",
    emailVerified: (query.get("test_email_verified") ?? "true") === "true",
    name: query.get("test_name") ?? "Olivia Auth",
    fault: query.get("test_fault") ?? "",
  };
}

function sendJson(res, status, value, headers = {}) {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
  res.end(body);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString();
  if ((req.headers["content-type"] ?? "").startsWith("application/json")) return text ? JSON.parse(text) : {};
  return Object.fromEntries(new URLSearchParams(text));
}

/** The client's id and secret: HTTP Basic (form-encoded parts) or the body. */
function clientCredentials(req, body) {
  const [scheme, value] = (req.headers.authorization ?? "").split(" ");
  if (scheme?.toLowerCase() === "basic" && value) {
    const decoded = Buffer.from(value, "base64").toString();
    const at = decoded.indexOf(":");
    const part = (s) => decodeURIComponent(s.replace(/\+/g, " "));
    return { id: part(decoded.slice(0, at)), secret: part(decoded.slice(at + 1)) };
  }
  return { id: body.client_id, secret: body.client_secret };
}

/** A code's record: what its authorization request said. */
function pending(kind, query, params) {
  const expires = Date.now() + CODE_TTL_MS;
  return { kind, ...params, redirectUri: query.get("redirect_uri"), challenge: query.get("code_challenge"), expires };
}

/**
 * Checks a token request against its code, which it uses up: the client
 * and its secret, the code (known, fresh, this client's), redirect_uri and
 * the PKCE S256 verifier. Returns the code's record, or [status, error].
 */
function redeem(req, body) {
  const client = clientCredentials(req, body);
  if (client.id !== CLIENT_ID || client.secret !== CLIENT_SECRET) return [401, "invalid_client"];
  // GitHub's token requests carry no grant_type.
  const grant = body.grant_type ?? (req.kind === "github" ? "authorization_code" : undefined);
  if (grant !== "authorization_code") return [400, "unsupported_grant_type"];
  const record = codes.get(body.code);
  codes.delete(body.code);
  if (!record || record.expires < Date.now() || record.kind !== req.kind) return [400, "invalid_grant"];
  if (body.redirect_uri !== record.redirectUri) return [400, "invalid_grant"];
  const verifier = body.code_verifier ?? "";
  if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier) || s256(verifier) !== record.challenge) return [400, "invalid_grant"];
  return record;
}

/**
 * The authorization request's checks shared by both providers: the client
 * (400, no redirect, when unknown) and PKCE S256 (an `invalid_request`
 * error sent back to the client). Returns the error to send back, null,
 * or undefined when it answered already.
 */
function authorizeError(query, res) {
  if (query.get("client_id") !== CLIENT_ID || !URL.canParse(query.get("redirect_uri") ?? "")) {
    sendJson(res, 400, { error: "invalid_request", error_description: "unknown client_id or no redirect_uri" });
    return undefined;
  }
  if (query.get("code_challenge_method") !== "S256" || !query.get("code_challenge")) return "invalid_request";
  return null;
}

// --- OpenID Connect: oauth2-mock-server and its events ---------------------

service.on("beforeAuthorizeRedirect", ({ url }, req) => {
  const query = new URL(req.url, issuer.url).searchParams;
  const params = testParams(query, "mock-user");
  const code = url.searchParams.get("code");
  const error = req.authorizeError ?? (params.fault === "access_denied" ? "access_denied" : null);
  // No code: the mock refused the request itself (a response_type not `code`).
  if (code && error) {
    url.searchParams.delete("code");
    url.searchParams.set("error", error);
  } else if (code) {
    codes.set(code, pending("oidc", query, params));
  }
  url.searchParams.set("iss", params.fault === "wrong_iss_param" ? "http://127.0.0.1:9/not-the-issuer" : issuer.url);
});

// Both tokens of a token response: the access token (it has a `scope`),
// then the ID token, whose claims are the chosen identity (and fault).
service.on("beforeTokenSigning", (token, req) => {
  const { record } = req;
  token.payload.sub = record.sub;
  if ("scope" in token.payload) return;
  Object.assign(token.payload, { email: record.email, email_verified: record.emailVerified, name: record.name });
  if (record.fault === "wrong_aud") token.payload.aud = "some-other-client";
  if (record.fault === "wrong_iss") token.payload.iss = "http://127.0.0.1:9/not-the-issuer";
  if (record.fault === "wrong_nonce") token.payload.nonce = "not-the-nonce";
  if (record.fault === "expired") Object.assign(token.payload, { iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 });
});

service.on("beforeResponse", (response, req) => {
  const { record } = req;
  const { body } = response;
  if (record.fault === "token_500") return Object.assign(response, { statusCode: 500, body: { error: "server_error" } });
  if (record.fault === "token_400") return Object.assign(response, { statusCode: 400, body: { error: "invalid_grant" } });
  accessTokens.set(body.access_token, record);
  const [header, payload, signature] = body.id_token.split(".");
  if (record.fault === "no_id_token") delete body.id_token;
  if (record.fault === "bad_signature") {
    const at = Math.floor(signature.length / 2);
    body.id_token = `${header}.${payload}.${signature.slice(0, at)}${signature[at] === "A" ? "B" : "A"}${signature.slice(at + 1)}`;
  }
  if (record.fault === "alg_none") body.id_token = `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${payload}.`;
  if (record.fault === "unknown_kid") {
    const head = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: `stranger-${randomUUID()}` }));
    const sig = sign("sha256", Buffer.from(`${head}.${payload}`), stranger.privateKey).toString("base64url");
    body.id_token = `${head}.${payload}.${sig}`;
  }
});

service.on("beforeUserinfo", (response, req) => {
  const record = accessTokens.get((req.headers.authorization ?? "").replace(/^Bearer /i, ""));
  if (!record) return Object.assign(response, { statusCode: 401, body: { error: "invalid_token" } });
  response.body = { sub: record.sub, email: record.email, email_verified: record.emailVerified, name: record.name };
});

/** Rewrites the JSON body that oauth2-mock-server is about to send. */
function rewriteJson(res, edit) {
  const end = res.end;
  res.end = (chunk, ...rest) => {
    const value = JSON.parse(chunk.toString());
    edit(value);
    const text = JSON.stringify(value);
    res.setHeader("content-length", Buffer.byteLength(text));
    return end.call(res, text, ...rest);
  };
}

async function oidc(req, res, url) {
  req.kind = "oidc";
  if (req.method === "GET" && url.pathname === "/.well-known/openid-configuration") {
    rewriteJson(res, (doc) =>
      Object.assign(doc, {
        authorization_response_iss_parameter_supported: true,
        token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
        code_challenge_methods_supported: ["S256"],
        grant_types_supported: ["authorization_code"],
        token_endpoint_auth_signing_alg_values_supported: undefined,
        scopes_supported: ["openid", "email", "profile"],
        claims_supported: ["sub", "iss", "aud", "exp", "iat", "nonce", "email", "email_verified", "name"],
      }),
    );
  }
  if (req.method === "GET" && url.pathname === "/authorize") {
    const error = authorizeError(url.searchParams, res);
    if (error === undefined) return;
    req.authorizeError = error;
  }
  if (req.method === "POST" && url.pathname === "/token") {
    // Read here, so the checks and faults can use it; the mock's body
    // parsers then see a finished request and keep `req.body`.
    const body = await readBody(req);
    const record = redeem(req, body);
    if (Array.isArray(record)) return sendJson(res, record[0], { error: record[1] });
    if (record.fault === "garbage_token") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end("<html>this is not a token response{");
    }
    if (record.fault === "slow_token") await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
    Object.assign(req, { body, record });
  }
  service.requestHandler(req, res);
}

// --- The GitHub stand-in ----------------------------------------------------

async function github(req, res, url) {
  req.kind = "github";
  if (req.method === "GET" && url.pathname === "/github/login/oauth/authorize") {
    const query = url.searchParams;
    const error = authorizeError(query, res);
    if (error === undefined) return;
    const params = testParams(query, "583231");
    const back = new URL(query.get("redirect_uri"));
    if (error || params.fault === "access_denied") {
      back.searchParams.set("error", error ?? "access_denied");
    } else {
      const code = randomUUID().replace(/-/g, "").slice(0, 20);
      const scopes = (query.get("scope") ?? "").split(/[ ,]+/);
      const emailScope = scopes.includes("user:email") || scopes.includes("user");
      codes.set(code, { ...pending("github", query, params), emailScope });
      back.searchParams.set("code", code);
    }
    if (query.has("state")) back.searchParams.set("state", query.get("state"));
    res.writeHead(302, { location: back.href });
    return res.end();
  }
  if (req.method === "POST" && url.pathname === "/github/login/oauth/access_token") {
    const body = await readBody(req);
    const record = redeem(req, body);
    const json = (req.headers.accept ?? "").includes("application/json");
    const answer = (status, value) =>
      json
        ? sendJson(res, status, value)
        : res.writeHead(status, { "content-type": "application/x-www-form-urlencoded" }).end(`${new URLSearchParams(value)}`);
    // GitHub answers a bad code or client with 200 and an `error`.
    if (Array.isArray(record)) {
      const error = record[1] === "invalid_client" ? "incorrect_client_credentials" : "bad_verification_code";
      return answer(200, { error });
    }
    if (record.fault === "token_500") return answer(500, { message: "Server Error" });
    if (record.fault === "token_400") return answer(400, { error: "bad_verification_code" });
    if (record.fault === "garbage_token") return res.writeHead(200, { "content-type": "application/json" }).end("<html>not json");
    if (record.fault === "slow_token") await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
    const token = `gho_${randomUUID().replace(/-/g, "")}`;
    accessTokens.set(token, record);
    return answer(200, { access_token: token, token_type: "bearer", scope: record.emailScope ? "read:user,user:email" : "read:user" });
  }
  if (req.method === "GET" && ["/github-api/user", "/github-api/user/emails"].includes(url.pathname)) {
    const record = accessTokens.get((req.headers.authorization ?? "").replace(/^(Bearer|token) /i, ""));
    if (!req.headers["user-agent"]) return sendJson(res, 403, { message: "Request forbidden by administrative rules. Please make sure your request has a User-Agent header" });
    if (!record || record.kind !== "github") return sendJson(res, 401, { message: "Bad credentials" });
    if (url.pathname === "/github-api/user") {
      const id = Number(record.sub);
      return sendJson(res, 200, { login: `octo-${id}`, id, name: record.name, email: null, type: "User" });
    }
    if (!record.emailScope) return sendJson(res, 404, { message: "Not Found" });
    // A verified address that is not the primary one comes first: the
    // server must use the primary address, as verified as GitHub says.
    return sendJson(res, 200, [
      { email: `${record.sub}+octo@users.noreply.github.com`, primary: false, verified: true, visibility: null },
      { email: record.email, primary: true, verified: record.emailVerified, visibility: "private" },
    ]);
  }
  sendJson(res, 404, { message: "Not Found" });
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer.url);
    if (url.pathname.startsWith("/github")) await github(req, res, url);
    else await oidc(req, res, url);
  } catch (error) {
    console.error(error);
    if (!res.headersSent) sendJson(res, 500, { error: "server_error", error_description: String(error?.message ?? error) });
  }
});

server.listen(port, "127.0.0.1", () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  issuer.url = base;
  process.stdout.write(
    `${JSON.stringify({
      issuer: base,
      github_authorize_url: `${base}/github/login/oauth/authorize`,
      github_token_url: `${base}/github/login/oauth/access_token`,
      github_api_url: `${base}/github-api`,
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
    })}\n`,
  );
});

for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
