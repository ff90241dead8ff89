// The passkey steps of the browser scenario (demo.mjs runs them), with
// Chromium's virtual authenticator standing in for the device: a platform
// authenticator (internal transport) that keeps discoverable credentials,
// verifies its user and needs no touch.
//
// The server runs with PUBLIC_URL = http://127.0.0.1:PORT. WebAuthn takes
// no IP address as a site, so the server's passkeys belong to `localhost`
// (same port): the page at 127.0.0.1 links there, and these steps follow
// that link and run at http://localhost:PORT, in a browser context of
// their own (cookies are per host, so its sessions are its own too).
//
// A new user signs up and verifies the address (the verification link of
// the outbox opens at 127.0.0.1, in a tab of its own, as a person's mail
// program would), adds a passkey by name (first with the device refusing
// to verify the user), sees it listed, signs out, signs in with it without
// typing an email, sees when it was last used, deletes it (a faked 409
// first: the only way in is kept), and is refused when the device offers
// it again. Last, a server without passkeys and a browser without WebAuthn
// show none of it.

import { TIMEOUT, assert, view, expectView, expectStatus, expectFocused, expectNoUserMenu } from './helpers.mjs';

// `t`: demo.mjs's { browser, base, step, shot, watch, mailedLink, outboxNow }
// and the `password` the new user signs up with.
export async function passkeySteps(t) {
  const { browser, base, step, shot, watch } = t;
  const email = `lin-${Date.now()}@example.com`;
  const passkeyName = 'Work laptop';
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  const tab = await context.newPage();
  watch(tab, 'tab 7');
  const cdp = await context.newCDPSession(tab);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  const passkeyButton = (page) => view(page).getByRole('button', { name: 'Sign in with a passkey' });
  const passkeyItems = (page) => page.getByRole('list', { name: 'Passkeys' }).getByRole('listitem');
  // The “or” above the other ways of signing in: one at most.
  const ors = (page) => view(page).getByText('or', { exact: true }).filter({ visible: true }).count();
  let local;

  async function openAccount(page) {
    await page.getByRole('button', { name: 'Account', exact: true }).click();
    await expectView(page, 'Account');
    // The panel has loaded once the sessions are listed.
    await page.locator('#session-list li').first().waitFor({ timeout: TIMEOUT });
  }

  async function signOut(page) {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await expectView(page, 'Sign in');
    await expectStatus(page, 'Signed out.');
  }

  await step('passkeys: the page at 127.0.0.1 links to localhost, which has the button', async () => {
    await tab.goto(base);
    await expectView(tab, 'Sign in');
    await view(tab).getByText('To sign in with a passkey, open this page at').waitFor({ timeout: TIMEOUT });
    assert(!(await passkeyButton(tab).isVisible()), 'no passkey button at an IP address');
    const port = new URL(base).port;
    await view(tab).getByRole('link', { name: `http://localhost:${port}/` }).click();
    await expectView(tab, 'Sign in');
    local = new URL(tab.url());
    assert(local.host === `localhost:${port}`, `the page at localhost: ${tab.url()}`);
    await passkeyButton(tab).waitFor({ timeout: TIMEOUT });
    assert(!(await view(tab).getByText('open this page at').isVisible()), 'no link to itself');
    assert((await ors(tab)) === 1, 'one “or” above the passkey (and provider) buttons');
    await shot(tab, '16-passkey-sign-in');
  });

  await step('passkeys: an unverified address is asked to verify first', async () => {
    await tab.getByRole('button', { name: 'Create an account' }).click();
    await view(tab).getByLabel('Email', { exact: true }).fill(email);
    await view(tab).getByLabel('Name (optional)').fill('Lin');
    await view(tab).getByLabel('Password', { exact: true }).fill(t.password);
    await tab.getByRole('button', { name: 'Create account' }).click();
    await expectView(tab, 'My tasks');
    await openAccount(tab);
    await view(tab).getByRole('heading', { name: 'Passkeys' }).waitFor({ timeout: TIMEOUT });
    await view(tab).getByText('No passkeys yet.').waitFor({ timeout: TIMEOUT });
    await view(tab).getByText('To add a passkey, verify your email address first.').waitFor({ timeout: TIMEOUT });
    assert(!(await tab.getByRole('button', { name: 'Add a passkey' }).isVisible()), 'no “Add a passkey” yet');
    const seen = await t.outboxNow();
    await tab.getByRole('button', { name: 'Send me a verification email' }).click();
    await expectStatus(tab, 'verification link is on its way');
    const link = await t.mailedLink('email_verification', email, seen);
    const mail = await context.newPage();
    watch(mail, 'tab 8');
    await mail.goto(link);
    await mail.locator('#verify-result', { hasText: 'is verified' }).waitFor({ timeout: TIMEOUT });
    await mail.close();
    await tab.bringToFront();
  });

  await step('passkeys: add one by name (refused by the device first), see it listed', async () => {
    await openAccount(tab);
    await tab.getByRole('button', { name: 'Add a passkey' }).waitFor({ timeout: TIMEOUT });
    assert(!(await view(tab).getByText('verify your email address first').isVisible()), 'no “verify first”');
    // The device does not verify its user: nothing is added.
    await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
    await view(tab).getByLabel('Passkey name (optional)').fill(passkeyName);
    await view(tab).getByLabel('Passkey name (optional)').press('Enter');
    await expectStatus(tab, 'No passkey was added: the request was cancelled or timed out, or your device did not allow it.');
    await view(tab).getByText('No passkeys yet.').waitFor({ timeout: TIMEOUT });
    await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: true });
    // Keyboard only: the name is still there; Tab to the button, Enter.
    await view(tab).getByLabel('Passkey name (optional)').focus();
    await tab.keyboard.press('Tab');
    await expectFocused(tab, 'Add a passkey');
    await tab.keyboard.press('Enter');
    await expectStatus(tab, `Passkey “${passkeyName}” added`);
    await expectFocused(tab, 'Passkeys');
    await passkeyItems(tab).filter({ hasText: passkeyName }).filter({ hasText: 'not used yet' }).waitFor({ timeout: TIMEOUT });
    assert((await passkeyItems(tab).count()) === 1, 'one passkey listed');
    assert(!(await view(tab).getByText('No passkeys yet.').isVisible()), 'no “No passkeys yet.”');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert(credentials.length === 1 && credentials[0].isResidentCredential, 'one discoverable credential on the device');
    await shot(tab, '17-passkey-added');
  });

  await step('passkeys: sign in with it, no email typed; its last use shows', async () => {
    await signOut(tab);
    assert((await view(tab).getByLabel('Email', { exact: true }).inputValue()) === '', 'no email typed');
    await passkeyButton(tab).click();
    await expectView(tab, 'My tasks');
    await expectStatus(tab, 'Signed in with your passkey.');
    await tab.locator('#who', { hasText: 'Lin' }).waitFor({ timeout: TIMEOUT });
    await openAccount(tab);
    await passkeyItems(tab).filter({ hasText: passkeyName }).filter({ hasText: 'last used' }).waitFor({ timeout: TIMEOUT });
    await shot(tab, '18-passkey-used');
  });

  await step('passkeys: the only way in is kept (409, faked once), then deleted', async () => {
    const deleteButton = tab.getByRole('button', { name: `Delete the passkey “${passkeyName}”` });
    await tab.route(
      (url) => url.pathname.startsWith('/api/auth/passkeys/'),
      (route) =>
        route.request().method() === 'DELETE'
          ? route.fulfill({
              status: 409,
              contentType: 'application/problem+json',
              body: JSON.stringify({ type: 'about:blank', title: 'Conflict', status: 409, code: 'last_sign_in_method' }),
            })
          : route.fallback(),
      { times: 1 },
    );
    await deleteButton.click();
    await expectStatus(tab, `“${passkeyName}” is the only way you can sign in, so it cannot be deleted.`);
    await expectFocused(tab, 'Delete');
    await passkeyItems(tab).filter({ hasText: passkeyName }).waitFor({ timeout: TIMEOUT });
    // Keyboard only: Enter on the focused button.
    await tab.keyboard.press('Enter');
    await expectStatus(tab, `The passkey “${passkeyName}” is deleted`);
    await expectFocused(tab, 'Passkeys');
    await view(tab).getByText('No passkeys yet.').waitFor({ timeout: TIMEOUT });
    assert((await passkeyItems(tab).count()) === 0, 'no passkey listed');
  });

  await step('passkeys: the deleted passkey, still on the device, signs nobody in', async () => {
    await signOut(tab);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert(credentials.length === 1, 'the device still offers the passkey');
    await passkeyButton(tab).click();
    await expectStatus(tab, 'That passkey did not sign you in');
    await expectView(tab, 'Sign in');
    await expectNoUserMenu(tab);
    await expectFocused(tab, 'Sign in with a passkey');
    await shot(tab, '19-passkey-refused');
  });

  await step('passkeys: none of it on a server without passkeys or a browser without WebAuthn', async () => {
    // A server without passkeys answers their routes 404.
    const off = await context.newPage();
    watch(off, 'tab 9');
    await off.route(
      (url) => url.pathname.startsWith('/api/auth/passkeys'),
      (route) =>
        route.fulfill({
          status: 404,
          contentType: 'application/problem+json',
          body: JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, code: 'not_found' }),
        }),
    );
    const probed = off.waitForResponse((response) => response.url().endsWith('/api/auth/passkeys/sign-in/options'));
    await off.goto(local.href);
    await probed;
    await expectView(off, 'Sign in');
    await view(off).getByLabel('Password', { exact: true }).waitFor({ timeout: TIMEOUT });
    assert(!(await passkeyButton(off).isVisible()), 'no passkey button');
    assert((await ors(off)) <= 1, 'no “or” for the passkey button');
    await view(off).getByLabel('Email', { exact: true }).fill(email);
    await view(off).getByLabel('Password', { exact: true }).fill(t.password);
    await view(off).getByLabel('Password', { exact: true }).press('Enter');
    await expectView(off, 'My tasks');
    await openAccount(off);
    await view(off).getByRole('heading', { name: 'Sessions' }).waitFor({ timeout: TIMEOUT });
    assert(!(await view(off).getByRole('heading', { name: 'Passkeys' }).isVisible()), 'no Passkeys section');
    await off.close();
    // A browser without WebAuthn: the list is there (the session of the
    // tab before), but nothing to add with.
    const old = await context.newPage();
    watch(old, 'tab 10');
    await old.addInitScript(() => {
      delete window.PublicKeyCredential;
    });
    await old.goto(local.href);
    await expectView(old, 'My tasks');
    await openAccount(old);
    await view(old).getByText('This browser cannot make passkeys.').waitFor({ timeout: TIMEOUT });
    assert(!(await old.getByRole('button', { name: 'Add a passkey' }).isVisible()), 'no “Add a passkey”');
    await signOut(old);
    await view(old).getByLabel('Password', { exact: true }).waitFor({ timeout: TIMEOUT });
    assert(!(await passkeyButton(old).isVisible()), 'no passkey button');
    await old.close();
  });

  // On a failure the context stays open, for demo.mjs's screenshots.
  await context.close();
}
