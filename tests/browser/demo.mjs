// Drives the demo page of a running example server in the machine's
// Chromium, as a person would: the scenarios of issues 14 and 30. It
// checks what a person sees (visibility, text, accessible names, where the
// focus is), never a DOM property that stands for it.
//
//   node demo.mjs --base-url http://127.0.0.1:PORT --outbox DIR --screenshots DIR \
//     [--verify-base-url http://127.0.0.1:PORT2 --verify-outbox DIR2]
//     [--oauth-provider NAME --oauth-issuer URL]
//
// The server must run with PUBLIC_URL = the base URL (the reset link is
// opened as the outbox has it) and a short ACCESS_TOKEN_TTL_SECS (3 s), so
// that tokens expire while the page is open. The optional second server
// runs with REQUIRE_EMAIL_VERIFICATION=true, for the "check your inbox"
// sign-up. With --oauth-provider, the server has one OpenID Connect
// provider of that display name, the test provider of tests/oidc at
// --oauth-issuer (its authorize endpoint sends the browser straight back):
// the OAuth steps sign in with it, link it and unlink it. The two-factor
// steps (issue 27) turn it on from the account panel, computing the
// authenticator app's codes here from the key the page shows, then sign
// in with a code and with backup codes. The API key steps (api-keys.mjs)
// create, copy, use and delete a key on the account panel. The passkey
// steps (passkeys.mjs) use Chromium's virtual authenticator at
// http://localhost:PORT, where the page at the base URL links. The
// keyboard-only pass (keyboard.mjs) uses page.keyboard alone. Prints one
// line per step; exits non-zero on the first failure, saying what was
// expected.
// contract-suite's browser.rs starts the server and runs this.

import { createHmac } from 'node:crypto';
import { readdir, readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import {
  TIMEOUT,
  assert,
  view,
  heading,
  expectView,
  expectStatus,
  expectFocused,
  expectFocusedField,
  expectFocus,
  expectSignedIn,
  expectSignedOut,
  expectNoUserMenu,
  description,
} from './helpers.mjs';
import { passkeySteps } from './passkeys.mjs';
import { apiKeySteps } from './api-keys.mjs';
import { keyboardSteps } from './keyboard.mjs';

const { values: args } = parseArgs({
  options: {
    'base-url': { type: 'string' },
    outbox: { type: 'string' },
    screenshots: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    'verify-base-url': { type: 'string' },
    'verify-outbox': { type: 'string' },
    'oauth-provider': { type: 'string' },
    'oauth-issuer': { type: 'string' },
  },
});
const base = args['base-url'];
if (!base || !args.outbox || !args.screenshots) {
  console.error('usage: node demo.mjs --base-url URL --outbox DIR --screenshots DIR');
  process.exit(2);
}
await mkdir(args.screenshots, { recursive: true });

const started = Date.now();
const email = `ada-${Date.now()}@example.com`;
const oldPassword = 'correct horse battery staple';
const newPassword = 'a brand new passphrase';
// After "change the password".
const lastPassword = 'yet another passphrase';

async function step(name, body) {
  const at = Date.now();
  await body();
  console.log(`ok ${((Date.now() - started) / 1000).toFixed(1)}s ${name} (${Date.now() - at} ms)`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(args.screenshots, `${name}.png`), fullPage: true });
}

// An authenticator app, as RFC 6238 has it: HMAC-SHA-1 over the number
// of 30 s steps since 1970, dynamic truncation, 6 digits. The key comes
// as base32 (RFC 4648, spaces and padding ignored).
function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const char of text.replace(/[\s=]/g, '').toUpperCase()) {
    const digit = alphabet.indexOf(char);
    assert(digit >= 0, `a base32 key, found “${text}”`);
    value = ((value << 5) | digit) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

const totpStep = (at = Date.now()) => Math.floor(at / 30_000);

function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

// RFC 6238's SHA-1 test vector (the key "12345678901234567890", 59 s):
// its 8 digits are 94287082.
assert(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', totpStep(59_000)) === '287082', 'the TOTP of RFC 6238');

const tasks = (page) => page.locator('#task-list > li > label');

async function expectTasks(page, titles) {
  const deadline = Date.now() + TIMEOUT;
  let seen;
  while (Date.now() < deadline) {
    seen = await tasks(page).allTextContents();
    if (JSON.stringify(seen) === JSON.stringify(titles)) return;
    await page.waitForTimeout(50);
  }
  throw new Error(`expected the tasks ${JSON.stringify(titles)}, the page shows ${JSON.stringify(seen)}`);
}

// The newest message of `kind` to `to` in the outbox that is not in
// `after`, polled (the server sends in the background): its text.
async function mailed(kind, to, after, outbox = args.outbox) {
  const deadline = Date.now() + TIMEOUT;
  while (Date.now() < deadline) {
    const names = (await readdir(outbox).catch(() => [])).filter((name) => name.endsWith('.eml')).sort();
    for (const name of names.reverse()) {
      const text = await readFile(join(outbox, name), 'utf8');
      const [head] = text.split('\n\n');
      if (!head.includes(`X-Auth-Message: ${kind}\n`) || !head.toLowerCase().includes(to)) continue;
      if (!after.has(name)) return text;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`expected a ${kind} message to ${to} in ${outbox}`);
}

// The `#token=` link of such a message.
async function mailedLink(kind, to, after, outbox = args.outbox) {
  const text = await mailed(kind, to, after, outbox);
  const link = text.split(/\s+/).find((word) => word.includes('#token='));
  assert(link, `a link in the ${kind} message:\n${text}`);
  return link;
}

const outboxNow = async (outbox = args.outbox) => new Set(await readdir(outbox).catch(() => []));

const browser = await chromium.launch({
  executablePath: args.chromium,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
const problems = [];
const refreshes = [];
try {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  context.on('response', (response) => {
    if (new URL(response.url()).pathname === '/api/auth/refresh') refreshes.push(response.status());
  });
  const watch = (page, tab) => {
    // CSP violations and script errors land here.
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`${tab} console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`${tab} page error: ${error.message}`));
  };
  const page = await context.newPage();
  watch(page, 'tab 1');
  // Answers the page is expected to cause (the console names no URL, so
  // they are checked here): 401s of the API after a session ended. None
  // on a first load (checked on its own below).
  const expectedFailure = (text) => text.startsWith('tab') && text.includes('Failed to load resource');
  context.on('response', (response) => {
    const { pathname } = new URL(response.url());
    const expected =
      (response.status() === 401 && pathname.startsWith('/api/')) ||
      // The wrong sign-in code the email sign-in step types on purpose.
      (response.status() === 400 && pathname === '/api/auth/email-sign-in/verify') ||
      // Unlinking the only way an OAuth user signs in, on purpose.
      (response.status() === 409 && pathname.startsWith('/api/auth/accounts/')) ||
      // The wrong password and the wrong code the two-factor steps type.
      (response.status() === 403 && pathname === '/api/auth/two-factor/setup') ||
      (response.status() === 400 && pathname === '/api/auth/two-factor/enable') ||
      // The API key steps' blank name, and the answers they fake: a full
      // account (409), a server without API keys (404).
      ([404, 409, 422].includes(response.status()) && pathname.startsWith('/api/auth/api-keys')) ||
      // The blank task title the tasks step sends on purpose.
      (response.status() === 422 && pathname.endsWith('/tasks'));
    if (response.status() >= 400 && !expected) problems.push(`${response.status()} ${pathname}`);
  });

  await step('the first load: the signed-out screen, no error logged, nothing refused', async () => {
    // Everything this first load logs or is refused, whatever the URL.
    const logged = [];
    const onConsole = (message) => {
      if (['error', 'warning'].includes(message.type())) logged.push(`console ${message.type()}: ${message.text()}`);
    };
    const onResponse = (response) => {
      const { pathname } = new URL(response.url());
      if (response.status() >= 400) logged.push(`${response.status()} ${pathname}`);
      if (pathname === '/favicon.ico') logged.push('a request for /favicon.ico');
    };
    page.on('console', onConsole);
    context.on('response', onResponse);
    const response = await page.goto(base);
    const headers = response.headers();
    assert(headers['content-security-policy']?.includes("script-src 'self'"), 'a strict CSP');
    assert(headers['x-content-type-options'] === 'nosniff', 'nosniff');
    await expectSignedOut(page);
    await page.waitForLoadState('networkidle');
    page.off('console', onConsole);
    context.off('response', onResponse);
    assert(logged.length === 0, `a quiet first load, found:\n${logged.join('\n')}`);
    assert(!refreshes.length, `no refresh without a session: ${refreshes}`);
    await shot(page, '01-sign-in');
  });

  await step('sign up', async () => {
    await page.getByRole('button', { name: 'Create an account' }).click();
    await expectView(page, 'Create an account');
    assert(await heading(page).evaluate((h) => h === document.activeElement), 'focus on the new heading');
    await view(page).getByLabel('Email', { exact: true }).fill(email);
    await view(page).getByLabel('Name (optional)').fill('Ada');
    await view(page).getByLabel('Password', { exact: true }).fill(oldPassword);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expectView(page, 'My tasks');
    await expectFocus(page, 'heading', 'My tasks');
    await expectSignedIn(page, 'Ada');
    // From here on, a refused refresh (401) would be a failure.
    refreshes.length = 0;
  });

  await step('tasks: create, complete, edit, delete, filter, sort', async () => {
    for (const [title, details] of [
      ['Write the report', 'Due on Friday'],
      ['Buy milk', ''],
      ['Call Ada', ''],
      ['Water the plants', ''],
    ]) {
      await view(page).getByLabel('New task').fill(title);
      await view(page).getByLabel('Details (optional)').fill(details);
      // Keyboard only: Enter in the title field submits.
      await view(page).getByLabel('New task').press('Enter');
      await expectStatus(page, `“${title}” added.`);
    }
    await expectTasks(page, ['Water the plants', 'Call Ada', 'Buy milk', 'Write the report']);
    // A title of spaces only: a sentence for people, the focus on the field.
    await view(page).getByLabel('New task').fill('   ');
    await page.getByRole('button', { name: 'Add task' }).click();
    await expectStatus(page, 'A task needs a title');
    const newTitle = view(page).getByRole('textbox', { name: 'New task' });
    await expectFocus(page, 'textbox', 'New task');
    assert((await description(newTitle)).includes('A task needs a title'), 'the field names the message');
    assert(!(await page.getByText('after trimming').isVisible()), 'no server wording on screen');
    await newTitle.fill('');
    await page.getByRole('checkbox', { name: 'Buy milk' }).check();
    await expectStatus(page, 'marked done');
    assert(await page.getByRole('checkbox', { name: 'Buy milk' }).isChecked(), 'Buy milk shown done');
    await page.getByRole('button', { name: 'Edit “Call Ada”' }).click();
    // Editing: the fields, and Save beside Cancel.
    const editing = page.getByRole('form', { name: 'Edit “Call Ada”' });
    await editing.getByRole('textbox', { name: 'Title' }).waitFor({ timeout: TIMEOUT });
    await expectFocus(page, 'textbox', 'Title');
    const save = await editing.getByRole('button', { name: 'Save' }).boundingBox();
    const cancel = await editing.getByRole('button', { name: 'Cancel' }).boundingBox();
    assert(save && cancel && Math.abs(save.y - cancel.y) < 2 && cancel.x > save.x + save.width, 'Save and Cancel side by side');
    assert(!(await page.getByRole('button', { name: 'Edit “Call Ada”' }).isVisible()), 'no Edit button while editing');
    await shot(page, '02-editing');
    await view(page).getByLabel('Title', { exact: true }).fill('Call Ada about the engine');
    await page.getByRole('button', { name: 'Save' }).click();
    await expectStatus(page, 'Task saved.');
    await expectFocus(page, 'button', 'Edit “Call Ada about the engine”');
    assert(!(await editing.isVisible()), 'the edit form closed');
    await page.getByRole('button', { name: 'Delete “Water the plants”' }).click();
    await expectStatus(page, 'deleted');
    await expectTasks(page, ['Call Ada about the engine', 'Buy milk', 'Write the report']);
    await view(page).getByLabel('Show').selectOption('completed');
    await expectTasks(page, ['Buy milk']);
    await view(page).getByLabel('Show').selectOption('pending');
    await expectTasks(page, ['Call Ada about the engine', 'Write the report']);
    await view(page).getByLabel('Show').selectOption('all');
    await view(page).getByLabel('Sort by').selectOption('title');
    await expectTasks(page, ['Buy milk', 'Call Ada about the engine', 'Write the report']);
    await shot(page, '02-tasks');
    await view(page).getByLabel('Sort by').selectOption('created');
  });

  await step('a reload keeps the user signed in, and the filter and sort', async () => {
    await view(page).getByLabel('Show').selectOption('pending');
    await view(page).getByLabel('Sort by').selectOption('title');
    await expectTasks(page, ['Call Ada about the engine', 'Write the report']);
    await page.reload();
    await expectView(page, 'My tasks');
    await expectSignedIn(page, 'Ada');
    await expectTasks(page, ['Call Ada about the engine', 'Write the report']);
    const chosen = (label) => view(page).getByLabel(label).evaluate((select) => select.selectedOptions[0].textContent);
    assert((await chosen('Show')) === 'Pending' && (await chosen('Sort by')) === 'Title', 'the filter and sort shown as set');
    await view(page).getByLabel('Show').selectOption('all');
    await view(page).getByLabel('Sort by').selectOption('created');
    await expectTasks(page, ['Call Ada about the engine', 'Buy milk', 'Write the report']);
  });

  await step('an access token that expires while the page is open is refreshed', async () => {
    const before = refreshes.length;
    // The token lives 3 s; the page refreshes it a little before.
    await page.waitForTimeout(4000);
    assert(refreshes.length > before, 'the page refreshed on its own');
    await view(page).getByLabel('New task').fill('After the expiry');
    await view(page).getByLabel('New task').press('Enter');
    await expectStatus(page, '“After the expiry” added.');
    // And the other way: a call answered 401 `token_expired` (a tab whose
    // timer was throttled) is refreshed and retried once.
    const faked = [];
    await page.route(
      (url) => url.pathname.endsWith('/tasks') && url.search.includes('status=pending'),
      async (route) => {
        faked.push(route.request().url());
        await route.fulfill({
          status: 401,
          contentType: 'application/problem+json',
          headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
          body: JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status: 401, code: 'token_expired' }),
        });
      },
      { times: 1 },
    );
    const beforeRetry = refreshes.length;
    await view(page).getByLabel('Show').selectOption('pending');
    await expectTasks(page, ['After the expiry', 'Call Ada about the engine', 'Write the report']);
    assert(faked.length === 1 && refreshes.length > beforeRetry, 'one refresh, then the call again');
    await view(page).getByLabel('Show').selectOption('all');
    await expectView(page, 'My tasks');
    assert(refreshes.every((status) => status === 200), `every refresh succeeded: ${refreshes}`);
  });

  const page2 = await context.newPage();
  watch(page2, 'tab 2');
  await step('two tabs refreshing at the same moment keep the session', async () => {
    await page2.goto(base);
    await expectView(page2, 'My tasks');
    for (let round = 0; round < 3; round += 1) {
      const before = refreshes.length;
      await Promise.all([page.reload(), page2.reload()]);
      await Promise.all([expectView(page, 'My tasks'), expectView(page2, 'My tasks')]);
      assert(refreshes.length >= before + 2, 'both tabs refreshed');
    }
    await page.waitForTimeout(3000); // both tabs' timers fire too
    assert(refreshes.every((status) => status === 200), `no refresh was refused: ${refreshes}`);
    await view(page2).getByLabel('New task').fill('From the second tab');
    await view(page2).getByLabel('New task').press('Enter');
    await expectStatus(page2, 'added.');
    await page.getByRole('button', { name: 'Account', exact: true }).click();
    await expectView(page, 'Account');
    for (const name of ['Change password', 'Two-factor authentication', 'Sessions']) {
      await view(page).getByRole('heading', { name, exact: true }).waitFor({ timeout: TIMEOUT });
    }
    await view(page).getByText(email).waitFor({ timeout: TIMEOUT });
    const sessionList = view(page).getByRole('list', { name: 'Sessions' }).getByRole('listitem');
    await sessionList.first().waitFor({ timeout: TIMEOUT });
    const sessions = await sessionList.allInnerTexts();
    assert(sessions.length === 1 && sessions[0].includes('(this browser)'), `one session: ${sessions}`);
    // Named by what the server saw: Playwright's Chromium on Linux, here.
    assert(
      /^Chrome on Linux, 127\.0\.0\.1, signed in .+, last active .+ \(this browser\)$/.test(sessions[0]),
      `“Chrome on Linux, 127.0.0.1, signed in …, last active … (this browser)”, found “${sessions[0]}”`,
    );
    // The page's names for devices, from User-Agent strings of the kinds
    // people use (and none).
    const devices = await page.evaluate(async () => {
      const { deviceName } = await import('/account.js');
      return [
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0',
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
        'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0',
        'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
        'curl/8.5.0',
        'a-very-long-client-name-that-says-nothing-known/1.2.3',
        null,
        '',
      ].map(deviceName);
    });
    const named = [
      'Edge on Windows',
      'Firefox on macOS',
      'Safari on iOS',
      'Chrome on Android',
      'Opera on Windows',
      'Chrome on ChromeOS',
      'Chrome on Linux',
      'Unknown device “curl/8.5.0”',
      'Unknown device “a-very-long-client-name-that-says-nothin…”',
      'Unknown device',
      'Unknown device',
    ];
    assert(JSON.stringify(devices) === JSON.stringify(named), `device names: ${JSON.stringify(devices)}`);
    await shot(page, '03-account');
  });

  await step('sign-out in one tab shows the other signed out at once, saying why', async () => {
    const before = refreshes.length;
    await page2.getByRole('button', { name: 'Sign out', exact: true }).click();
    await expectSignedOut(page2);
    await expectStatus(page2, 'Signed out.');
    await shot(page2, '04-signed-out');
    // Tab 1 hears it from tab 2, no click and no call of its own needed.
    await expectSignedOut(page);
    await expectStatus(page, 'You signed out in another tab.');
    assert(refreshes.slice(before).every((status) => status === 200), `no refused refresh: ${refreshes}`);
    // Tab 1 in front again: Chromium throttles a background tab's animation
    // frames, and every click waits for two of them (about 2 s each).
    await page.bringToFront();
  });

  await step('forgot password: the link from the outbox resets it', async () => {
    const seen = await outboxNow();
    await page.getByRole('button', { name: 'Forgot your password?' }).click();
    await expectView(page, 'Forgot your password?');
    await view(page).getByLabel('Email', { exact: true }).fill(email);
    await page.getByRole('button', { name: 'Send me a reset link' }).click();
    await expectStatus(page, 'a reset link is on its way');
    const link = await mailedLink('password_reset', email, seen);
    assert(link.startsWith(`${base}/reset-password#token=`), `a reset link to this page: ${link}`);
    await page.goto(link);
    await expectView(page, 'Choose a new password');
    assert(!page.url().includes('token'), 'the token is gone from the address bar');
    await shot(page, '05-reset-password');
    await view(page).getByLabel('New password').fill(newPassword);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await expectView(page, 'Sign in');
    await expectStatus(page, 'Password changed.');
  });

  await step('the old password fails, the new one works', async () => {
    await view(page).getByLabel('Email', { exact: true }).fill(email);
    await view(page).getByLabel('Password', { exact: true }).fill(oldPassword);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expectStatus(page, 'Wrong email or password.');
    // The focus in the field to fix, which names the message.
    await expectFocus(page, 'textbox', 'Password');
    const field = view(page).getByRole('textbox', { name: 'Password' });
    assert((await description(field)) === 'Wrong email or password.', `described by the message: ${await description(field)}`);
    await view(page).getByLabel('Password', { exact: true }).fill(newPassword);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expectView(page, 'My tasks');
    refreshes.length = 0;
    await expectTasks(page, ['From the second tab', 'After the expiry', 'Call Ada about the engine', 'Buy milk', 'Write the report']);
  });

  await step('email verification through the outbox link', async () => {
    const seen = await outboxNow();
    await page.getByRole('button', { name: 'Account', exact: true }).click();
    await expectView(page, 'Account');
    // Two-factor waits for a verified address.
    await view(page).getByText('To set it up, verify your email address first.').waitFor({ timeout: TIMEOUT });
    assert(!(await page.getByRole('button', { name: 'Set up two-factor' }).isVisible()), 'no two-factor setup yet');
    await page.getByRole('button', { name: 'Send me a verification email' }).click();
    await expectStatus(page, 'verification link is on its way');
    const link = await mailedLink('email_verification', email, seen);
    assert(link.startsWith(`${base}/verify-email#token=`), `a verification link to this page: ${link}`);
    await page.goto(link);
    await expectView(page, 'Email verification');
    await page.locator('#verify-result', { hasText: 'is verified' }).waitFor({ timeout: TIMEOUT });
    await page.getByRole('button', { name: 'Continue' }).click();
    await expectView(page, 'My tasks');
    await page.getByRole('button', { name: 'Account', exact: true }).click();
    await page.locator('#account-verified', { hasText: 'Yes' }).waitFor({ timeout: TIMEOUT });
    await page.getByRole('button', { name: 'Set up two-factor' }).waitFor({ timeout: TIMEOUT });
  });

  await step('change the password: the other tab is told, and keeps working', async () => {
    await page2.reload();
    await expectView(page2, 'My tasks');
    // What a password manager reads to file the new password under the
    // account: the form's username field, which a person does not see.
    const username = await page.locator('#password-form [autocomplete="username"]').inputValue();
    assert(username === email, `the password form names the account: ${username}`);
    await view(page).getByLabel('Current password').fill(newPassword);
    await view(page).getByLabel('New password').fill('yet another passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    // Beside the form, where the person acted.
    await page.locator('#change-password').getByRole('status').filter({ hasText: 'Password changed.' }).waitFor({ timeout: TIMEOUT });
    await expectStatus(page2, 'Your password was changed in another tab.');
    await view(page2).getByLabel('New task').fill('After the password change');
    await view(page2).getByLabel('New task').press('Enter');
    await expectStatus(page2, '“After the password change” added.');
    await expectSignedIn(page2, 'Ada');
    await page.bringToFront();
  });

  await step('sign out everywhere: asked first; the other tab and another browser signed out', async () => {
    // Another browser, signed in as Ada: no tab of this one to tell it.
    const other = await browser.newContext({ viewport: { width: 900, height: 700 } });
    const elsewhere = await other.newPage();
    watch(elsewhere, 'tab 7');
    await elsewhere.goto(base);
    await view(elsewhere).getByLabel('Email', { exact: true }).fill(email);
    await view(elsewhere).getByLabel('Password', { exact: true }).fill(lastPassword);
    await view(elsewhere).getByLabel('Password', { exact: true }).press('Enter');
    await expectView(elsewhere, 'My tasks');
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    // An inline question, the focus on its warning; Escape backs out.
    const warning = page.getByText('Sign out on every device?');
    await warning.waitFor({ timeout: TIMEOUT });
    assert(
      await page.locator('#everywhere-warning').evaluate((node) => node === document.activeElement),
      'focus on the warning',
    );
    await shot(page, '24-sign-out-everywhere');
    await page.keyboard.press('Escape');
    await expectFocus(page, 'button', 'Sign out everywhere');
    assert(!(await warning.isVisible()), 'the question is gone after Escape');
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expectFocus(page, 'button', 'Sign out everywhere');
    await expectSignedIn(page, 'Ada');
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.getByRole('button', { name: 'Yes, sign out everywhere' }).click();
    await expectSignedOut(page);
    await expectStatus(page, 'Signed out on every device.');
    await expectSignedOut(page2);
    await expectStatus(page2, 'You signed out on every device from another tab.');
    // The other browser finds out on its next call (its token lives 3 s).
    await view(elsewhere).getByLabel('New task').fill('Too late');
    await view(elsewhere).getByLabel('New task').press('Enter');
    await expectSignedOut(elsewhere);
    await expectStatus(elsewhere, 'Your session has ended. Please sign in again.');
    await shot(elsewhere, '25-session-ended');
    await other.close();
    await page2.close();
    await page.reload();
    await expectSignedOut(page);
  });

  await step('email sign-in: the link from the outbox signs in', async () => {
    const seen = await outboxNow();
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await expectView(page, 'Sign in by email');
    await view(page).getByLabel('Email', { exact: true }).fill(email);
    await page.getByRole('button', { name: 'Email me a link and code' }).click();
    await expectView(page, 'Enter your code');
    await expectStatus(page, `A link and a code are on their way to ${email}.`);
    const link = await mailedLink('email_sign_in', email, seen);
    assert(link.startsWith(`${base}/email-sign-in#token=`), `a sign-in link to this page: ${link}`);
    await page.goto(link);
    await expectView(page, 'My tasks');
    await expectStatus(page, 'Signed in.');
    assert(!page.url().includes('token'), 'the token is gone from the address bar');
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await expectView(page, 'Sign in');
  });

  await step('email sign-in by code, with the keyboard only', async () => {
    const seen = await outboxNow();
    await page.getByRole('button', { name: 'Email me a sign-in link' }).focus();
    await page.keyboard.press('Enter');
    await expectView(page, 'Sign in by email');
    await page.keyboard.press('Tab');
    await page.keyboard.type(email);
    await page.keyboard.press('Enter');
    await expectView(page, 'Enter your code');
    assert(await heading(page).evaluate((h) => h === document.activeElement), 'focus on the heading');
    const text = await mailed('email_sign_in', email, seen);
    const code = (text.match(/\b\d{6}\b/) || [])[0];
    assert(code, `a 6-digit code in the message:\n${text}`);
    const wrong = `${(Number(code[0]) + 1) % 10}${code.slice(1)}`;
    await page.keyboard.press('Tab');
    await page.keyboard.type(wrong);
    await page.keyboard.press('Enter');
    await expectStatus(page, 'That code is wrong or has expired.');
    await shot(page, '07-email-code');
    await view(page).getByLabel('Code').fill(code);
    await page.keyboard.press('Enter');
    await expectView(page, 'My tasks');
    await expectStatus(page, 'Signed in.');
  });

  const provider = args['oauth-provider'];
  if (provider) {
    // The identity the test provider gives without `test_*` parameters.
    const oauthEmail = 'oauth-user@example.com';
    const linkedAccounts = (tab) => tab.getByRole('list', { name: 'Linked accounts' }).getByRole('listitem');

    await step(`OAuth: sign in with ${provider}, see the linked account, sign out`, async () => {
      const fresh = await browser.newContext({ viewport: { width: 900, height: 700 } });
      const tab = await fresh.newPage();
      watch(tab, 'tab 4');
      await tab.goto(base);
      await expectView(tab, 'Sign in');
      await tab.getByRole('button', { name: `Continue with ${provider}` }).click();
      // To the server, the provider, the server's callback and back here.
      await expectView(tab, 'My tasks');
      await expectStatus(tab, `Signed in as ${oauthEmail}.`);
      await expectFocused(tab, 'My tasks');
      assert(!tab.url().includes('#') && !tab.url().includes('code'), `the code is gone from the address bar: ${tab.url()}`);
      await tab.getByRole('button', { name: 'Sign out', exact: true }).waitFor({ timeout: TIMEOUT });
      await shot(tab, '08-oauth-signed-in');
      await tab.getByRole('button', { name: 'Account', exact: true }).click();
      await expectView(tab, 'Account');
      await view(tab).getByText(oauthEmail).first().waitFor({ timeout: TIMEOUT });
      await linkedAccounts(tab).filter({ hasText: provider }).filter({ hasText: oauthEmail }).waitFor({ timeout: TIMEOUT });
      assert((await linkedAccounts(tab).count()) === 1, 'one linked account');
      assert(!(await tab.getByRole('button', { name: `Link ${provider}`, exact: true }).isVisible()), 'no link button for a linked provider');
      assert(!(await tab.getByRole('heading', { name: 'Change password' }).isVisible()), 'no password to change');
      // The provider is this account's only way in: unlinking it is refused.
      await tab.getByRole('button', { name: `Unlink ${provider}` }).click();
      await expectStatus(tab, 'This is the only way you can sign in, so it cannot be unlinked.');
      await expectFocused(tab, 'Unlink');
      await linkedAccounts(tab).filter({ hasText: provider }).waitFor({ timeout: TIMEOUT });
      await shot(tab, '09-oauth-account');
      await tab.getByRole('button', { name: 'Sign out', exact: true }).click();
      await expectView(tab, 'Sign in');
      await expectStatus(tab, 'Signed out.');
      await fresh.close();
    });

    await step('OAuth: a #code= this page did not ask for signs nobody in', async () => {
      // An attacker's link to the page with a code of their own sign-in.
      const fresh = await browser.newContext({ viewport: { width: 900, height: 700 } });
      const tab = await fresh.newPage();
      watch(tab, 'tab 5');
      await tab.goto(`${base}/#code=${'A'.repeat(43)}`);
      await expectView(tab, 'Sign in');
      await expectStatus(tab, 'That sign-in was not started from this page');
      assert(!tab.url().includes('#'), `the planted code is gone from the address bar: ${tab.url()}`);
      await fresh.close();
    });

    await step(`OAuth: link ${provider} from the account panel, then unlink it`, async () => {
      // `page` is signed in as Ada (password, verified address) since the
      // email sign-in by code.
      await page.getByRole('button', { name: 'Account', exact: true }).click();
      await expectView(page, 'Account');
      await page.getByText('No accounts linked yet.').waitFor({ timeout: TIMEOUT });
      // The provider's default identity is the other user's already.
      await page.getByRole('button', { name: `Link ${provider}`, exact: true }).click();
      await expectView(page, 'Account');
      await expectStatus(page, 'That account cannot be linked');
      assert(!page.url().includes('#'), `the error is gone from the address bar: ${page.url()}`);
      await shot(page, '10-oauth-link-refused');
      // Now as Ada at the provider: the test picks the identity by
      // parameters of the provider's authorize URL.
      const atProvider = (url) => url.href.startsWith(args['oauth-issuer']) && url.pathname.endsWith('/authorize');
      await page.route(
        atProvider,
        (route) => {
          const url = new URL(route.request().url());
          url.searchParams.set('test_sub', 'ada-at-mock');
          url.searchParams.set('test_email', email);
          return route.fulfill({ status: 302, headers: { Location: url.href } });
        },
        { times: 1 },
      );
      // Keyboard only.
      await page.getByRole('button', { name: `Link ${provider}`, exact: true }).focus();
      await page.keyboard.press('Enter');
      await expectStatus(page, 'Account linked');
      await expectView(page, 'Account');
      await linkedAccounts(page).filter({ hasText: provider }).filter({ hasText: email }).waitFor({ timeout: TIMEOUT });
      assert(!page.url().includes('#'), `the code is gone from the address bar: ${page.url()}`);
      await shot(page, '11-oauth-linked');
      // The round trip's session replaced the tab's: one session, which a
      // reload keeps.
      await page.reload();
      await expectView(page, 'My tasks');
      await page.getByRole('button', { name: 'Account', exact: true }).click();
      const sessionList = view(page).getByRole('list', { name: 'Sessions' }).getByRole('listitem');
      await sessionList.first().waitFor({ timeout: TIMEOUT });
      const sessions = await sessionList.allInnerTexts();
      assert(sessions.length === 1 && sessions[0].includes('(this browser)'), `one session: ${sessions}`);
      await page.getByRole('button', { name: `Unlink ${provider}` }).click();
      await expectStatus(page, `${provider} is unlinked.`);
      await expectFocused(page, 'Linked accounts');
      await page.getByRole('button', { name: `Link ${provider}`, exact: true }).waitFor({ timeout: TIMEOUT });
      await page.getByText('No accounts linked yet.').waitFor({ timeout: TIMEOUT });
    });
  } else {
    console.log('skip the OAuth steps: the server has no provider (no --oauth-provider)');
  }

  // Two-factor authentication. `page` is signed in as Ada, who has a
  // password (`lastPassword`), since the email sign-in by code (and the
  // OAuth steps, which end signed in as her too).
  const codeField = (tab) => view(tab).getByLabel('Code from your authenticator app');
  const backupField = (tab) => view(tab).getByLabel('Backup code');
  let secret;
  let backupCodes;
  // The step whose code turned two-factor on: used up from then on.
  let enabledStep;

  async function signInWithPassword(tab) {
    await view(tab).getByLabel('Email', { exact: true }).fill(email);
    await view(tab).getByLabel('Password', { exact: true }).fill(lastPassword);
    await view(tab).getByLabel('Password', { exact: true }).press('Enter');
    await expectView(tab, 'Two-factor authentication');
    await expectFocusedField(tab, 'Code from your authenticator app');
    await expectNoUserMenu(tab);
  }

  async function signOut(tab) {
    await tab.getByRole('button', { name: 'Sign out', exact: true }).click();
    await expectView(tab, 'Sign in');
    await expectStatus(tab, 'Signed out.');
  }

  await step('two-factor: set up on the account panel, backup codes downloaded, turned on', async () => {
    await page.getByRole('button', { name: 'Account', exact: true }).click();
    await expectView(page, 'Account');
    await view(page).getByText('Off: signing in takes one step.').waitFor({ timeout: TIMEOUT });
    await page.getByRole('button', { name: 'Set up two-factor' }).click();
    await expectFocusedField(page, 'Your password');
    await page.keyboard.type('not my password');
    await page.keyboard.press('Enter');
    await expectStatus(page, 'The current password is wrong.');
    await view(page).getByLabel('Your password').fill(lastPassword);
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
    const enrol = view(page).getByRole('heading', { name: '1. Add this account to your authenticator app' });
    await enrol.waitFor({ timeout: TIMEOUT });
    await expectFocused(page, '1. Add this account to your authenticator app');
    const qr = view(page).getByRole('img', { name: 'QR code for your authenticator app' });
    await qr.waitFor({ timeout: TIMEOUT });
    // A picture the policy blocked would still count as visible.
    assert(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code is drawn');
    await view(page).getByText(/The app lists it as “.+”\./).waitFor({ timeout: TIMEOUT });
    const key = await view(page).locator('#two-factor-secret').innerText();
    assert(/^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/.test(key), `the key in groups of four: “${key}”`);
    secret = key.replace(/ /g, '');
    assert(secret.length >= 26, `a key of at least 128 bits: ${secret}`);
    backupCodes = await view(page).getByRole('list', { name: 'Backup codes' }).getByRole('listitem').allInnerTexts();
    assert(
      backupCodes.length === 10 && backupCodes.every((code) => /^\d{4}-\d{4}-\d{4}-\d{4}$/.test(code)),
      `10 backup codes like 1234-5678-9012-3456: ${backupCodes}`,
    );
    assert(new Set(backupCodes).size === 10, 'ten different codes');
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: TIMEOUT }),
      page.getByRole('button', { name: 'Download backup codes' }).click(),
    ]);
    assert(download.suggestedFilename() === 'tasks-backup-codes.txt', `a .txt: ${download.suggestedFilename()}`);
    const saved = await readFile(await download.path(), 'utf8');
    assert(backupCodes.every((code) => saved.includes(code)), `every code in the file:\n${saved}`);
    await shot(page, '12-two-factor-setup');
    // A wrong code first (not the code of any step the server accepts now).
    enabledStep = totpStep();
    const near = [-1, 0, 1, 2].map((offset) => totp(secret, enabledStep + offset));
    const wrong = ['000000', '111111', '222222'].find((code) => !near.includes(code));
    await codeField(page).fill(wrong);
    await codeField(page).press('Enter');
    await expectStatus(page, 'That code is wrong.');
    await expectFocusedField(page, 'Code from your authenticator app');
    enabledStep = totpStep();
    await page.keyboard.type(totp(secret, enabledStep));
    await page.keyboard.press('Enter');
    await expectStatus(page, 'Two-factor authentication is on: signing in now asks for a code');
    await view(page).getByText('On: signing in asks for a code').waitFor({ timeout: TIMEOUT });
    await expectFocused(page, 'Two-factor authentication');
    // Shown once: the key and the codes are gone from the page.
    assert(!(await view(page).getByText(backupCodes[0]).isVisible()), 'the backup codes are no longer shown');
    assert(!(await qr.isVisible()), 'the QR code is no longer shown');
  });

  await step('two-factor: the password sign-in asks for the app’s code', async () => {
    await signOut(page);
    await signInWithPassword(page);
    const field = codeField(page);
    assert((await field.getAttribute('autocomplete')) === 'one-time-code', 'autocomplete="one-time-code"');
    assert((await field.getAttribute('inputmode')) === 'numeric', 'inputmode="numeric"');
    await shot(page, '13-two-factor-sign-in');
    // The step after the one that turned it on: the server refuses a
    // step it accepted before, and allows one step of drift.
    await page.keyboard.type(totp(secret, enabledStep + 1));
    await page.keyboard.press('Enter');
    await expectView(page, 'My tasks');
    await expectStatus(page, 'Signed in.');
  });

  await step('two-factor: a used app code is refused, a backup code signs in', async () => {
    await signOut(page);
    await signInWithPassword(page);
    await page.keyboard.type(totp(secret, enabledStep + 1));
    await page.keyboard.press('Enter');
    await expectStatus(page, 'That code is wrong.');
    await expectView(page, 'Two-factor authentication');
    await expectFocusedField(page, 'Code from your authenticator app');
    // Keyboard only: Tab past "Verify" to the switch.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await expectFocused(page, 'Use a backup code instead');
    await page.keyboard.press('Enter');
    await expectFocusedField(page, 'Backup code');
    assert(!(await codeField(page).isVisible()), 'no app code field beside the backup code');
    const field = backupField(page);
    assert((await field.getAttribute('autocomplete')) === 'one-time-code', 'autocomplete="one-time-code"');
    assert((await field.getAttribute('inputmode')) === 'numeric', 'inputmode="numeric"');
    await page.keyboard.type(backupCodes[0]);
    await page.keyboard.press('Enter');
    await expectView(page, 'My tasks');
    await expectStatus(page, 'Signed in.');
  });

  await step('two-factor: after an email code too; a used backup code is refused', async () => {
    await signOut(page);
    const seen = await outboxNow();
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await view(page).getByLabel('Email', { exact: true }).fill(email);
    await page.getByRole('button', { name: 'Email me a link and code' }).click();
    await expectView(page, 'Enter your code');
    const text = await mailed('email_sign_in', email, seen);
    const code = (text.match(/\b\d{6}\b/) || [])[0];
    assert(code, `a 6-digit code in the message:\n${text}`);
    await view(page).getByLabel('Code', { exact: true }).fill(code);
    await page.keyboard.press('Enter');
    await expectView(page, 'Two-factor authentication');
    await expectFocusedField(page, 'Code from your authenticator app');
    await page.getByRole('button', { name: 'Use a backup code instead' }).click();
    await backupField(page).fill(backupCodes[0]);
    await backupField(page).press('Enter');
    await expectStatus(page, 'That backup code is wrong or has been used already.');
    await expectView(page, 'Two-factor authentication');
    await expectNoUserMenu(page);
    await shot(page, '14-two-factor-used-backup-code');
    // A challenge that ended meanwhile (expired, or 5 wrong codes): the
    // server's answer, faked once, leads back to the sign-in.
    await page.route(
      (url) => url.pathname === '/api/auth/two-factor/verify',
      (route) =>
        route.fulfill({
          status: 401,
          contentType: 'application/problem+json',
          body: JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status: 401, code: 'invalid_token' }),
        }),
      { times: 1 },
    );
    await backupField(page).fill(backupCodes[1]);
    await backupField(page).press('Enter');
    await expectView(page, 'Sign in');
    await expectStatus(page, 'This sign-in has expired or had too many wrong codes. Please sign in again.');
  });

  await step('two-factor: a backup code typed with spaces signs in', async () => {
    await signInWithPassword(page);
    await page.getByRole('button', { name: 'Use a backup code instead' }).click();
    await expectFocusedField(page, 'Backup code');
    await page.keyboard.type(backupCodes[1].replace(/-/g, ' '));
    await page.keyboard.press('Enter');
    await expectView(page, 'My tasks');
    await expectStatus(page, 'Signed in.');
  });

  await step('two-factor: new backup codes, then turned off', async () => {
    await page.getByRole('button', { name: 'Account', exact: true }).click();
    await expectView(page, 'Account');
    await page.getByRole('button', { name: 'New backup codes' }).click();
    await expectFocusedField(page, 'Your password');
    await page.keyboard.type(lastPassword);
    await page.keyboard.press('Enter');
    await expectStatus(page, 'New backup codes are ready. The old ones no longer work.');
    await expectFocused(page, 'Your new backup codes');
    const fresh = await view(page).getByRole('list', { name: 'Backup codes' }).getByRole('listitem').allInnerTexts();
    assert(fresh.length === 10 && fresh.every((code) => !backupCodes.includes(code)), `10 new codes: ${fresh}`);
    await page.getByRole('button', { name: 'Download backup codes' }).waitFor({ timeout: TIMEOUT });
    await shot(page, '15-two-factor-new-backup-codes');
    await page.getByRole('button', { name: 'I have saved them' }).click();
    assert(!(await view(page).getByText(fresh[0]).isVisible()), 'the new codes are no longer shown');
    await page.getByRole('button', { name: 'Turn off', exact: true }).click();
    await expectFocusedField(page, 'Your password');
    await page.keyboard.type(lastPassword);
    await page.keyboard.press('Enter');
    await expectStatus(page, 'Two-factor authentication is off.');
    await view(page).getByText('Off: signing in takes one step.').waitFor({ timeout: TIMEOUT });
    await signOut(page);
    await view(page).getByLabel('Email', { exact: true }).fill(email);
    await view(page).getByLabel('Password', { exact: true }).fill(lastPassword);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expectView(page, 'My tasks');
  });

  if (provider) {
    await step(`two-factor: an account without a password, signing in with ${provider}`, async () => {
      const fresh = await browser.newContext({ viewport: { width: 900, height: 700 } });
      const tab = await fresh.newPage();
      watch(tab, 'tab 6');
      await tab.goto(base);
      await tab.getByRole('button', { name: `Continue with ${provider}` }).click();
      await expectView(tab, 'My tasks');
      await tab.getByRole('button', { name: 'Account', exact: true }).click();
      await expectView(tab, 'Account');
      // No password to ask for: the sign-in a moment ago stands in for it.
      await tab.getByRole('button', { name: 'Set up two-factor' }).click();
      await view(tab).getByRole('heading', { name: '1. Add this account to your authenticator app' }).waitFor({ timeout: TIMEOUT });
      await expectFocused(tab, '1. Add this account to your authenticator app');
      const key = (await view(tab).locator('#two-factor-secret').innerText()).replace(/ /g, '');
      const turnedOn = totpStep();
      await codeField(tab).fill(totp(key, turnedOn));
      await codeField(tab).press('Enter');
      await expectStatus(tab, 'Two-factor authentication is on: signing in now asks for a code');
      await tab.getByRole('button', { name: 'Sign out', exact: true }).click();
      await expectView(tab, 'Sign in');
      await tab.getByRole('button', { name: `Continue with ${provider}` }).click();
      await expectView(tab, 'Two-factor authentication');
      await expectFocusedField(tab, 'Code from your authenticator app');
      await tab.keyboard.type(totp(key, turnedOn + 1));
      await tab.keyboard.press('Enter');
      await expectView(tab, 'My tasks');
      await expectStatus(tab, 'Signed in as oauth-user@example.com.');
      await tab.getByRole('button', { name: 'Account', exact: true }).click();
      await tab.getByRole('button', { name: 'Turn off', exact: true }).click();
      assert(!(await view(tab).getByLabel('Your password').isVisible()), 'no password field');
      await expectFocused(tab, 'Turn off two-factor');
      await tab.keyboard.press('Enter');
      await expectStatus(tab, 'Two-factor authentication is off.');
      await fresh.close();
    });
  }

  // `page` is signed in as Ada, with her tasks, since the two-factor steps.
  await apiKeySteps({ base, step, shot, watch, page });

  await keyboardSteps({ browser, base, step, shot, watch });

  await passkeySteps({ browser, base, step, shot, watch, mailedLink, outboxNow, password: oldPassword });

  const verifyBase = args['verify-base-url'];
  if (verifyBase) {
    await step('a server that requires a verified address: check your inbox, then sign in', async () => {
      const outbox = args['verify-outbox'];
      const unverified = `grace-${Date.now()}@example.com`;
      const fresh = await browser.newContext({ viewport: { width: 900, height: 700 } });
      const tab = await fresh.newPage();
      watch(tab, 'tab 3');
      await tab.goto(verifyBase);
      await expectView(tab, 'Sign in');
      await tab.getByRole('button', { name: 'Create an account' }).click();
      await view(tab).getByLabel('Email', { exact: true }).fill(unverified);
      await view(tab).getByLabel('Password', { exact: true }).fill(oldPassword);
      await tab.getByRole('button', { name: 'Create account' }).click();
      await expectView(tab, 'Check your inbox');
      assert(await heading(tab).evaluate((h) => h === document.activeElement), 'focus on the heading');
      await view(tab).getByText(unverified).waitFor({ timeout: TIMEOUT });
      await expectNoUserMenu(tab);
      const first = await mailedLink('email_verification', unverified, new Set(), outbox);
      await shot(tab, '06-check-inbox');
      // Keyboard only: Tab to the button, Enter to press it.
      const seen = await outboxNow(outbox);
      await tab.keyboard.press('Tab');
      await expectFocused(tab, 'Send the link again');
      await tab.keyboard.press('Enter');
      await expectStatus(tab, `A new link is on its way to ${unverified}.`);
      const second = await mailedLink('email_verification', unverified, seen, outbox);
      assert(second !== first, 'a new link');
      // Signing in before following it leads back here.
      await tab.getByRole('button', { name: 'Back to sign in' }).click();
      await view(tab).getByLabel('Email', { exact: true }).fill(unverified);
      await view(tab).getByLabel('Password', { exact: true }).fill(oldPassword);
      await tab.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expectView(tab, 'Check your inbox');
      await expectStatus(tab, 'Please verify your email address first.');
      await tab.goto(second);
      await expectView(tab, 'Email verification');
      await tab.locator('#verify-result', { hasText: 'is verified' }).waitFor({ timeout: TIMEOUT });
      await tab.getByRole('button', { name: 'Continue' }).click();
      await expectView(tab, 'Sign in');
      await view(tab).getByLabel('Email', { exact: true }).fill(unverified);
      await view(tab).getByLabel('Password', { exact: true }).fill(oldPassword);
      await tab.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expectView(tab, 'My tasks');
      await fresh.close();
    });
  }

  const unexpected = problems.filter((problem) => !expectedFailure(problem));
  assert(unexpected.length === 0, `no script errors or CSP violations:\n${unexpected.join('\n')}`);
  console.log(`ok all steps in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (error) {
  console.error(`FAILED: ${error.stack || error}`);
  for (const [index, page] of browser.contexts().flatMap((context) => context.pages()).entries()) {
    await shot(page, `failed-tab-${index + 1}`).catch(() => {});
    console.error(`tab ${index + 1} shows: ${await page.locator('main').innerText().catch(() => '?')}`);
  }
  if (problems.length) console.error(`console and page errors:\n${problems.join('\n')}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
