// A real Better Auth issuer for the contract suite's trusted-issuer test
// (examples/contract-suite/tests/better_auth.rs). Better Auth itself signs
// every token and serves the JWKS; the /test/... routes only drive it.
//
//   node issuer.mjs [--port N] [--alg EdDSA|ES256|ES512|RS256|PS256] [--base-url URL]
//   (or PORT, ALG, BASE_URL in the environment)
//
// Listens on 127.0.0.1 and prints one JSON line on stdout:
//   {"port":N,"baseURL":"http://127.0.0.1:N","alg":"ES256","jwks":".../api/auth/jwks"}
// Better Auth's routes are under /api/auth (JWKS: GET /api/auth/jwks,
// tokens: GET /api/auth/token with a session). Test-only routes:
//   POST /test/token {email}           sign up (or in) through Better Auth, then
//                                      GET /api/auth/token → {user_id, token}
//   POST /test/sign {sub, iss?, aud?, iat?, exp?}
//                                      auth.api.signJWT with those claims → {token}
//                                      (wrong iss/aud, already expired)
//   POST /test/stranger-token {email}  like /test/token, from a second Better
//                                      Auth instance with the same baseURL and
//                                      its own key (a kid the JWKS never lists)
//   POST /test/rotate                  retire the signing key (its expiresAt,
//                                      as `rotationInterval` sets it, is moved
//                                      to now); Better Auth mints the next key
//                                      on the next signature, and keeps the
//                                      retired one in the JWKS for `gracePeriod`
//                                      → {retired_kid, new_kid}
//   POST /test/stats                   → {jwks_fetches}: GET /api/auth/jwks so far
import http from "node:http";

// The test that started this issuer holds its stdin open: once that closes
// (the test ended, or died), so does the issuer.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
import { randomBytes } from "node:crypto";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { jwt } from "better-auth/plugins";

function arg(name, envName, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1 && i + 1 < process.argv.length) return process.argv[i + 1];
  return process.env[envName] ?? fallback;
}

const KEY_PAIR_CONFIGS = {
  EdDSA: { alg: "EdDSA", crv: "Ed25519" },
  ES256: { alg: "ES256" },
  ES512: { alg: "ES512" },
  RS256: { alg: "RS256", modulusLength: 2048 },
  PS256: { alg: "PS256", modulusLength: 2048 },
};

const port = Number(arg("port", "PORT", "0"));
const alg = arg("alg", "ALG", "EdDSA");
if (!KEY_PAIR_CONFIGS[alg]) {
  console.error(`unknown alg ${alg}; one of ${Object.keys(KEY_PAIR_CONFIGS).join(", ")}`);
  process.exit(2);
}
const PASSWORD = "correct horse battery staple";

function makeAuth(baseURL) {
  const db = { user: [], session: [], account: [], verification: [], jwks: [] };
  const auth = betterAuth({
    baseURL,
    secret: randomBytes(32).toString("hex"),
    database: memoryAdapter(db),
    emailAndPassword: { enabled: true },
    logger: { level: "error" },
    plugins: [
      jwt({
        jwks: {
          keyPairConfig: KEY_PAIR_CONFIGS[alg],
          // Keys expire after a day (Better Auth's rotation); /test/rotate
          // brings that moment forward. Retired keys stay listed for an hour.
          rotationInterval: 24 * 3600,
          gracePeriod: 3600,
        },
        jwt: { expirationTime: "15m" },
      }),
    ],
  });
  return { auth, db, baseURL };
}

/** Signs up `email` (or signs in when taken) and returns the session cookie. */
async function sessionCookie({ auth, baseURL }, email) {
  const body = JSON.stringify({ email, password: PASSWORD, name: email.split("@")[0] });
  const post = (path) =>
    auth.handler(
      new Request(`${baseURL}/api/auth${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: baseURL },
        body,
      }),
    );
  let response = await post("/sign-up/email");
  if (!response.ok) response = await post("/sign-in/email");
  if (!response.ok) throw new Error(`sign-in failed: ${response.status} ${await response.text()}`);
  const cookies = response.headers.getSetCookie().map((c) => c.split(";")[0]);
  return cookies.join("; ");
}

/** A token from Better Auth's own GET /api/auth/token for `email`. */
async function userToken(instance, email) {
  const cookie = await sessionCookie(instance, email);
  const response = await instance.auth.handler(
    new Request(`${instance.baseURL}/api/auth/token`, { headers: { cookie } }),
  );
  if (!response.ok) throw new Error(`/api/auth/token: ${response.status} ${await response.text()}`);
  const { token } = await response.json();
  const sub = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).sub;
  return { user_id: sub, token };
}

async function signToken({ auth }, claims) {
  // `signJWT` adds no `iat` of its own, where the tokens of /api/auth/token
  // always carry one: set it, so these tokens differ from real ones only in
  // the claim a test changes.
  const payload = { iat: Math.floor(Date.now() / 1000) };
  for (const name of ["sub", "iss", "aud", "iat", "exp"]) {
    if (claims[name] !== undefined) payload[name] = claims[name];
  }
  const { token } = await auth.api.signJWT({ body: { payload } });
  return { token };
}

function kidOf(token) {
  return JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString()).kid;
}

async function rotate(instance) {
  // The key that signs now: Better Auth's choice, seen in a fresh token.
  const before = kidOf((await signToken(instance, { sub: "rotation-probe" })).token);
  const now = new Date(Date.now() - 1000);
  for (const key of instance.db.jwks) {
    if (!key.expiresAt || key.expiresAt > now) key.expiresAt = now;
  }
  // Better Auth sees its latest key expired and mints the next one.
  const after = kidOf((await signToken(instance, { sub: "rotation-probe" })).token);
  if (before === after) throw new Error("the signing key did not change");
  return { retired_kid: before, new_kid: after };
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString();
  return text ? JSON.parse(text) : {};
}

function send(res, status, value) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}

let main;
let stranger;
let jwksFetches = 0;

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, main.baseURL);
    if (url.pathname.startsWith("/test/")) {
      if (req.method !== "POST") return send(res, 405, { error: "POST only" });
      const body = await readJson(req);
      switch (url.pathname) {
        case "/test/token":
          return send(res, 200, await userToken(main, body.email));
        case "/test/stranger-token":
          return send(res, 200, await userToken(stranger, body.email));
        case "/test/sign":
          return send(res, 200, await signToken(main, body));
        case "/test/rotate":
          return send(res, 200, await rotate(main));
        case "/test/stats":
          return send(res, 200, { jwks_fetches: jwksFetches });
        default:
          return send(res, 404, { error: "no such test route" });
      }
    }
    // Everything else is Better Auth's own handler.
    if (req.method === "GET" && url.pathname === "/api/auth/jwks") jwksFetches += 1;
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (Array.isArray(value)) value.forEach((v) => headers.append(name, v));
      else if (value !== undefined) headers.set(name, value);
    }
    const request = new Request(url, {
      method: req.method,
      headers,
      body: ["GET", "HEAD"].includes(req.method) ? undefined : Buffer.concat(chunks),
    });
    const response = await main.auth.handler(request);
    const outHeaders = {};
    response.headers.forEach((value, name) => {
      if (name !== "set-cookie") outHeaders[name] = value;
    });
    const setCookie = response.headers.getSetCookie();
    if (setCookie.length) outHeaders["set-cookie"] = setCookie;
    res.writeHead(response.status, outHeaders);
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    console.error(error);
    send(res, 500, { error: String(error?.message ?? error) });
  }
});

server.listen(port, "127.0.0.1", () => {
  const actual = server.address().port;
  const baseURL = arg("base-url", "BASE_URL", `http://127.0.0.1:${actual}`);
  main = makeAuth(baseURL);
  stranger = makeAuth(baseURL);
  process.stdout.write(
    `${JSON.stringify({ port: actual, baseURL, alg, jwks: `http://127.0.0.1:${actual}/api/auth/jwks` })}\n`,
  );
});

for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
