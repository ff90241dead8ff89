// Better Auth on the server: email + password, and the JWT plugin that signs
// the tokens the Rust task API verifies against GET /api/auth/jwks.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { jwt } from "better-auth/plugins";

/** The app's own URL: Better Auth's baseURL, and so the tokens' iss and aud. */
const baseURL = process.env.BETTER_AUTH_URL ?? "http://127.0.0.1:3000";

// Like the Rust server's JWT secret: given, or generated once and kept next
// to the database, so a demo needs no setup and restarts keep sessions.
function secret(dataDir: string): string {
  if (process.env.BETTER_AUTH_SECRET) return process.env.BETTER_AUTH_SECRET;
  const file = path.join(dataDir, "better-auth-secret");
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" });
  }
  return fs.readFileSync(file, "utf8").trim();
}

// Both spellings of the loopback origin, so the app works at either.
function trustedOrigins(): string[] {
  const url = new URL(baseURL);
  const origins = [url.origin];
  if (url.hostname === "127.0.0.1" || url.hostname === "localhost") {
    const other = url.hostname === "127.0.0.1" ? "localhost" : "127.0.0.1";
    origins.push(`${url.protocol}//${other}${url.port ? `:${url.port}` : ""}`);
  }
  return origins;
}

function create() {
  const dataDir = path.resolve(/* turbopackIgnore: true */ process.env.DATA_DIR ?? "data");
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return betterAuth({
    baseURL,
    secret: secret(dataDir),
    database: new Database(path.join(dataDir, "auth.db")),
    emailAndPassword: { enabled: true },
    trustedOrigins: trustedOrigins(),
    telemetry: { enabled: false },
    plugins: [
      jwt({
        // Better Auth's default key (EdDSA) and short tokens: the Rust
        // server cannot revoke them, so a signed-out user's token stays
        // valid there until its exp.
        jwt: { expirationTime: "15m" },
      }),
    ],
  });
}

type Auth = ReturnType<typeof create>;
let ready: Promise<Auth> | undefined;

/**
 * Better Auth, created on first use (not while `next build` imports the
 * route), with its tables (user, session, account, verification, jwks)
 * created or brought up to date first.
 */
export function getAuth(): Promise<Auth> {
  ready ??= (async () => {
    const auth = create();
    const { runMigrations } = await getMigrations(auth.options);
    await runMigrations();
    return auth;
  })();
  return ready;
}
