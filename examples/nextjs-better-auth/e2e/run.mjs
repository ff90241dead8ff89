// End-to-end test of the Next.js + Better Auth front end against a real Rust
// task API server in trusted issuer mode, in the machine's Chromium.
//
//   node e2e/run.mjs <task-api server binary> [screenshots folder]
//
// Needs a built app (`npm run build`). Starts `next start` and the server on
// free loopback ports, each with its data in a temporary folder, then drives
// the pages: sign-up, tasks through the Rust API, a second user who sees
// none of them and gets 403 on the first user's path, sign-out.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [serverArg, shotsArg] = process.argv.slice(2);
if (!serverArg) {
  console.error("usage: node e2e/run.mjs <task-api server binary> [screenshots folder]");
  process.exit(2);
}
const serverBin = path.resolve(serverArg);
if (!fs.existsSync(serverBin)) {
  console.error(`no server binary at ${serverBin} (cargo build -p task-api-axum)`);
  process.exit(2);
}
const serverName = path.basename(serverBin);
const shots = path.resolve(shotsArg ?? path.join(appDir, "e2e", "screenshots"), serverName);
fs.mkdirSync(shots, { recursive: true });
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "nextjs-e2e-"));
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

const children = [];
let passed = 0;
let failed = 0;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function start(name, command, args, options) {
  const log = fs.openSync(path.join(scratch, `${name}.log`), "a");
  const child = spawn(command, args, { ...options, stdio: ["ignore", log, log], detached: true });
  child.name = name;
  child.on("error", (error) => {
    child.exited = true;
    console.error(`${name} could not start: ${error.message}`);
  });
  children.push(child);
  child.on("exit", (code, signal) => {
    child.exited = true;
    if (!stopping) console.error(`${name} exited early (${signal ?? code})`);
  });
  return child;
}

let stopping = false;
function stopAll() {
  stopping = true;
  for (const child of children) {
    // Each child leads its own process group (next start runs workers).
    if (!child.exited) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
    }
  }
}

function showLogs() {
  for (const child of children) {
    const file = path.join(scratch, `${child.name}.log`);
    console.error(`--- ${child.name} log (last 60 lines) ---`);
    console.error(fs.readFileSync(file, "utf8").split("\n").slice(-60).join("\n"));
  }
}

async function waitFor(url, what, ok = (r) => r.ok, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (children.some((c) => c.exited)) break;
    try {
      const response = await fetch(url);
      if (ok(response)) return response;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error.cause?.code ?? String(error);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not come up at ${url} (${last})`);
}

async function step(name, body) {
  const started = Date.now();
  try {
    await body();
    passed += 1;
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failed += 1;
    console.log(`FAILED - ${name}: ${error.stack ?? error}`);
    throw error;
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

function claims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}

const nextPort = await freePort();
const apiPort = await freePort();
const appUrl = `http://127.0.0.1:${nextPort}`;
const apiUrl = `http://127.0.0.1:${apiPort}`;
const jwksUrl = `${appUrl}/api/auth/jwks`;

let browser;
try {
  await step(`next start on ${appUrl} (Better Auth, SQLite in a temp folder)`, async () => {
    const nextBin = path.join(appDir, "node_modules", "next", "dist", "bin", "next");
    expect(fs.existsSync(path.join(appDir, ".next", "BUILD_ID")), "no .next build: run `npm run build` first");
    start("next", process.execPath, [nextBin, "start", "-H", "127.0.0.1", "-p", String(nextPort)], {
      cwd: appDir,
      env: {
        ...process.env,
        NODE_ENV: "production",
        NEXT_TELEMETRY_DISABLED: "1",
        BETTER_AUTH_URL: appUrl,
        DATA_DIR: path.join(scratch, "next-data"),
        TASK_API_URL: apiUrl,
      },
    });
    const response = await waitFor(jwksUrl, "Better Auth's JWKS");
    const { keys } = await response.json();
    expect(Array.isArray(keys), "the JWKS has no keys array");
  });

  await step(`${serverName} on ${apiUrl} in trusted issuer mode`, async () => {
    fs.mkdirSync(path.join(scratch, "api"), { recursive: true });
    start(serverName, serverBin, [], {
      cwd: path.join(scratch, "api"),
      env: {
        ...process.env,
        BIND_ADDRESS: `127.0.0.1:${apiPort}`,
        DATABASE_URL: `sqlite://${path.join(scratch, "api", "tasks.db")}?mode=rwc`,
        TRUSTED_JWKS_URL: jwksUrl,
        JWT_ISSUER: appUrl,
        JWT_AUDIENCE: appUrl,
        CORS_ORIGINS: appUrl,
        MAIL_OUTBOX_DIR: path.join(scratch, "api", "outbox"),
      },
    });
    await waitFor(`${apiUrl}/healthz`, serverName);
    // Trusted mode: the server issues no tokens of its own.
    const signUp = await fetch(`${apiUrl}/api/auth/sign-up`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "x@example.com", password: "long enough password" }),
    });
    expect(signUp.status === 404, `sign-up on the Rust server: expected 404, got ${signUp.status}`);
  });

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });

  // Every request the pages make must go to the app or the task API.
  const strangers = [];
  const apiCalls = [];
  async function newPage() {
    const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on("request", (request) => {
      const url = request.url();
      if (url.startsWith(apiUrl)) apiCalls.push({ url, method: request.method(), auth: request.headers().authorization });
      else if (!url.startsWith(appUrl) && !url.startsWith("data:")) strangers.push(url);
    });
    page.on("pageerror", (error) => console.log(`  page error: ${error.message}`));
    return page;
  }
  const password = "correct horse battery staple";
  async function signUp(page, name, email) {
    await page.goto(`${appUrl}/sign-up`);
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign up" }).click();
    await page.waitForURL(`${appUrl}/tasks`);
    await page.getByTestId("user-id").waitFor();
    return (await page.getByTestId("user-id").textContent()).trim();
  }
  const tokenIn = (page) =>
    page.evaluate(async () => {
      const response = await fetch("/api/auth/token");
      return response.ok ? (await response.json()).token : null;
    });
  const taskTitles = (page) => page.locator("ul.tasks li span").allTextContents();

  const alice = await newPage();
  let aliceId;
  await step("user A signs up in Better Auth and lands on the tasks page", async () => {
    aliceId = await signUp(alice, "Ada", "ada@example.com");
    await alice.getByTestId("empty").waitFor();
    const token = await tokenIn(alice);
    expect(token, "no token from /api/auth/token");
    const c = claims(token);
    expect(c.sub === aliceId, `token sub ${c.sub} is not the user id ${aliceId}`);
    expect(c.iss === appUrl && c.aud === appUrl, `iss/aud are ${c.iss}/${c.aud}, expected ${appUrl}`);
    await alice.screenshot({ path: path.join(shots, "1-a-signed-up.png") });
  });

  await step("A creates, lists, completes and deletes tasks through the Rust API", async () => {
    for (const title of ["Buy milk", "Write the report", "Call Grace"]) {
      await alice.getByLabel("New task").fill(title);
      await alice.getByRole("button", { name: "Add" }).click();
      await alice.locator("ul.tasks li span", { hasText: title }).waitFor();
    }
    let titles = await taskTitles(alice);
    expect(titles.join("|") === "Call Grace|Write the report|Buy milk", `list: ${titles}`);
    // A controlled checkbox: it changes once the API has answered.
    await alice.getByLabel("Done: Buy milk").click();
    await alice.locator("ul.tasks li.done span", { hasText: "Buy milk" }).waitFor();
    await alice.getByRole("button", { name: "Delete Call Grace" }).click();
    await alice.locator("ul.tasks li span", { hasText: "Call Grace" }).waitFor({ state: "detached" });
    await alice.reload();
    await alice.locator("ul.tasks li span", { hasText: "Buy milk" }).waitFor();
    titles = await taskTitles(alice);
    expect(titles.join("|") === "Write the report|Buy milk", `after reload: ${titles}`);
    expect(await alice.locator("ul.tasks li.done").count() === 1, "one task should be done");
    // The page itself called the Rust server, with Better Auth's JWT.
    const methods = new Set(apiCalls.map((c) => c.method));
    for (const m of ["GET", "POST", "PATCH", "DELETE"]) expect(methods.has(m), `no ${m} to the task API`);
    const paths = apiCalls.filter((c) => c.method !== "OPTIONS");
    expect(paths.every((c) => c.url.startsWith(`${apiUrl}/api/${aliceId}/tasks`)), "a call off A's path");
    expect(paths.every((c) => /^Bearer ey/.test(c.auth ?? "")), "a call without the Bearer JWT");
    // And the server holds them: read back with A's token, outside the page.
    const response = await fetch(`${apiUrl}/api/${aliceId}/tasks`, {
      headers: { authorization: `Bearer ${await tokenIn(alice)}` },
    });
    expect(response.status === 200, `GET A's tasks: ${response.status}`);
    expect((await response.json()).length === 2, "the server does not hold A's two tasks");
    await alice.screenshot({ path: path.join(shots, "2-a-tasks.png") });
  });

  const grace = await newPage();
  await step("user B signs up, sees no tasks, and gets 403 on A's path", async () => {
    const graceId = await signUp(grace, "Grace", "grace@example.com");
    expect(graceId !== aliceId, "B has A's id");
    await grace.getByTestId("empty").waitFor();
    const result = await grace.evaluate(
      async ({ apiUrl, aliceId }) => {
        const { token } = await (await fetch("/api/auth/token")).json();
        const headers = { authorization: `Bearer ${token}` };
        const sub = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).sub;
        const own = await fetch(`${apiUrl}/api/${sub}/tasks`, { headers });
        const other = await fetch(`${apiUrl}/api/${aliceId}/tasks`, { headers });
        return { own: own.status, ownBody: await own.json(), other: other.status, otherBody: await other.json() };
      },
      { apiUrl, aliceId },
    );
    expect(result.own === 200 && result.ownBody.length === 0, `B's own list: ${JSON.stringify(result)}`);
    expect(result.other === 403, `B reading A's path: expected 403, got ${JSON.stringify(result)}`);
    await grace.screenshot({ path: path.join(shots, "3-b-empty.png") });
  });

  await step("A signs out: both of A's tabs go to sign-in, no token, /tasks sends there", async () => {
    const secondTab = await alice.context().newPage();
    await secondTab.goto(`${appUrl}/tasks`);
    await secondTab.locator("ul.tasks li span", { hasText: "Buy milk" }).waitFor();
    await alice.getByRole("button", { name: "Sign out" }).click();
    await alice.waitForURL(`${appUrl}/sign-in`);
    expect((await tokenIn(alice)) === null, "a token after sign-out");
    await alice.goto(`${appUrl}/tasks`);
    await alice.waitForURL(`${appUrl}/sign-in`);
    await alice.screenshot({ path: path.join(shots, "4-a-signed-out.png") });
    // Better Auth tells A's other tab, which leaves; if that message is
    // late, the tab's next call finds no session and leaves then, having
    // sent nothing to the task API.
    const left = await secondTab
      .waitForURL(`${appUrl}/sign-in`, { timeout: 5_000 })
      .then(() => true, () => false);
    if (!left) {
      console.log("  (the other tab had not heard of the sign-out: adding a task there)");
      await secondTab.getByLabel("New task").fill("After sign-out");
      await secondTab.getByRole("button", { name: "Add" }).click();
      await secondTab.waitForURL(`${appUrl}/sign-in`);
    }
    await secondTab.close();
  });

  await step("A signs in again and finds the tasks", async () => {
    await alice.getByLabel("Email").fill("ada@example.com");
    await alice.getByLabel("Password").fill(password);
    await alice.getByRole("button", { name: "Sign in" }).click();
    await alice.waitForURL(`${appUrl}/tasks`);
    await alice.locator("ul.tasks li span", { hasText: "Write the report" }).waitFor();
    const titles = await taskTitles(alice);
    expect(titles.join("|") === "Write the report|Buy milk", `A's tasks after signing in again: ${titles}`);
  });

  await step("no request left the two loopback servers", async () => {
    expect(strangers.length === 0, `third-party requests: ${strangers.join(", ")}`);
  });
} catch (error) {
  if (!failed) {
    failed += 1;
    console.log(`FAILED - ${error.stack ?? error}`);
  }
  showLogs();
} finally {
  await browser?.close().catch(() => {});
  stopAll();
  console.log(`screenshots: ${shots}`);
  console.log(`${passed} passed, ${failed} failed`);
  if (!failed) fs.rmSync(scratch, { recursive: true, force: true });
  else console.log(`logs kept in ${scratch}`);
  process.exitCode = failed ? 1 : 0;
}
