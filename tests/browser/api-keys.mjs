// The API key steps of the browser scenario (demo.mjs runs them), on the
// account panel of demo.mjs's signed-in tab.
//
// The user creates a key with the keyboard alone, sees it once and copies
// it (the clipboard, then the fallback that selects it when the browser
// refuses), then closes it; the key then works on the task routes from
// outside the browser (Node's fetch) and shows the user's tasks. After a
// reload the key is shown nowhere, and the list says it was used. A blank
// name and a full account (a 409, faked) get sentences; a second key with
// an expiry lists its date, and leaving the account view forgets it.
// Deleting a key stops it at once (401). Last, a server without API keys
// (its routes answer 404) shows no section.

import { TIMEOUT, assert, view, expectView, expectStatus, expectFocused, expectFocusedField } from './helpers.mjs';

// `t`: demo.mjs's { base, step, shot, watch } and `page`, a tab signed
// in as a user with tasks.
export async function apiKeySteps(t) {
  const { base, step, shot, watch, page } = t;
  const context = page.context();
  const name = 'Backup script';
  const other = 'Deploy bot';
  const keyItems = () => page.getByRole('list', { name: 'API keys' }).getByRole('listitem');
  const keyItem = (keyName) => keyItems().filter({ has: page.locator('strong', { hasText: keyName }) });
  const keyField = () => view(page).getByLabel('API key', { exact: true });
  let key;
  let tasks;

  // A call from a script: the key as the bearer, nothing else.
  const withKey = (path, bearer = key) => fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${bearer}` } });

  async function openAccount(tab) {
    await tab.getByRole('button', { name: 'Account', exact: true }).click();
    await expectView(tab, 'Account');
    // The panel has loaded once the sessions are listed.
    await tab.locator('#session-list li').first().waitFor({ timeout: TIMEOUT });
  }

  // The whole value of the focused field is selected.
  const wholeSelection = () =>
    page.evaluate(() => {
      const field = document.activeElement;
      return field.selectionStart === 0 && field.selectionEnd === field.value.length && field.value.length > 0;
    });

  await step('API keys: create one with the keyboard alone; shown once, copied', async () => {
    await page.bringToFront();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    // What the page lists, for the key's call below.
    await page.getByRole('button', { name: 'My tasks', exact: true }).click();
    await expectView(page, 'My tasks');
    await page.locator('#task-list > li').first().waitFor({ timeout: TIMEOUT });
    tasks = await page.locator('#task-list > li > label').allTextContents();
    await openAccount(page);
    await view(page).getByRole('heading', { name: 'API keys' }).waitFor({ timeout: TIMEOUT });
    await view(page).getByText('No API keys yet.').waitFor({ timeout: TIMEOUT });
    assert(!(await keyField().isVisible()), 'no key shown before one is created');
    // Keyboard only: into the name field, type, Tab past the expiry to
    // the button, Enter.
    await view(page).getByLabel('Key name', { exact: true }).focus();
    await page.keyboard.type(name);
    await page.keyboard.press('Tab');
    await expectFocusedField(page, 'Expires after (days, optional)');
    await page.keyboard.press('Tab');
    await expectFocused(page, 'Create API key');
    await page.keyboard.press('Enter');
    await expectStatus(page, `API key “${name}” created. Copy it now: it will not be shown again.`);
    // The focus on the key, selected whole, ready for Ctrl+C.
    await expectFocusedField(page, 'API key');
    assert(await wholeSelection(), 'the whole key selected');
    key = await keyField().inputValue();
    assert(/^[A-Za-z0-9_-]{43,}$/.test(key), `a key of at least 256 bits, in one word: “${key}”`);
    assert((await keyField().getAttribute('readonly')) !== null, 'a read-only field');
    await view(page).getByText('it will not be shown again.', { exact: true }).waitFor({ timeout: TIMEOUT });
    await view(page).getByRole('heading', { name: `Your new API key “${name}”` }).waitFor({ timeout: TIMEOUT });
    // Listed: its start (the prefix), never used, no expiry; not the key.
    const item = keyItem(name);
    await item.filter({ hasText: 'never used' }).filter({ hasText: 'never expires' }).waitFor({ timeout: TIMEOUT });
    const prefix = (await item.locator('code').innerText()).replace(/…$/, '');
    assert(prefix.length >= 4 && key.startsWith(prefix) && prefix.length < key.length - 40, `the key's start: “${prefix}”`);
    assert(!(await item.innerText()).includes(key), 'the list does not show the key');
    assert(!(await view(page).getByText('No API keys yet.').isVisible()), 'no “No API keys yet.”');
    // Tab to Copy, Enter: on the clipboard, and said so beside the button.
    await page.keyboard.press('Tab');
    await expectFocused(page, 'Copy');
    await page.keyboard.press('Enter');
    await view(page).locator('#api-key-copy-status', { hasText: 'Copied.' }).waitFor({ timeout: TIMEOUT });
    assert(await view(page).getByText('Copied.').isVisible(), '“Copied.” on screen');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert(copied === key, `the key on the clipboard, found “${copied}”`);
    await shot(page, '20-api-key-created');
  });

  await step('API keys: a refused clipboard gets the key selected; saved, it is gone', async () => {
    await page.evaluate(() => {
      navigator.clipboard.writeText = () => Promise.reject(new DOMException('Write permission denied.', 'NotAllowedError'));
    });
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await view(page).getByText('The key is selected: press Ctrl+C (⌘C on a Mac) to copy it.').waitFor({ timeout: TIMEOUT });
    await expectFocusedField(page, 'API key');
    assert(await wholeSelection(), 'the whole key selected');
    assert(!(await view(page).getByText('Copied.').isVisible()), 'no “Copied.”');
    // Saved: the box closes, the focus goes back to the section.
    await page.getByRole('button', { name: 'I have saved it' }).click();
    await expectFocused(page, 'API keys');
    assert(!(await keyField().isVisible()), 'the key is no longer shown');
    assert((await keyField().inputValue()) === '', 'the key is gone from its field');
  });

  await step('API keys: the key works from a script, as its user', async () => {
    const me = await withKey('/api/auth/me');
    assert(me.status === 200, `GET /api/auth/me with the key: 200, found ${me.status}`);
    const { user } = await me.json();
    const email = await page.locator('#account-email').innerText();
    assert(user?.email === email, `the key's user is ${email}, found ${JSON.stringify(user)}`);
    const answer = await withKey(`/api/${encodeURIComponent(user.id)}/tasks`);
    assert(answer.status === 200, `the task list with the key: 200, found ${answer.status}`);
    const titles = (await answer.json()).map((task) => task.title);
    assert(
      titles.length > 0 && JSON.stringify(titles) === JSON.stringify(tasks),
      `the tasks the page shows, ${JSON.stringify(tasks)}; found ${JSON.stringify(titles)}`,
    );
    // Not a session: it manages nothing.
    const list = await withKey('/api/auth/api-keys');
    assert(list.status === 403, `the key cannot list keys: 403, found ${list.status}`);
  });

  await step('API keys: after a reload the key is shown nowhere; its use is listed', async () => {
    await page.reload();
    await expectView(page, 'My tasks');
    await openAccount(page);
    await keyItem(name).filter({ hasText: 'last used' }).waitFor({ timeout: TIMEOUT });
    assert(!(await keyField().isVisible()), 'no key field');
    assert(!(await page.locator('body').innerText()).includes(key), 'the key nowhere in the text of the page');
    const inFields = await page.evaluate(
      (secret) => [...document.querySelectorAll('input, textarea')].some((field) => field.value.includes(secret)),
      key,
    );
    assert(!inFields && !(await page.content()).includes(key), 'the key in no field, nowhere in the document');
    await shot(page, '21-api-key-used');
  });

  await step('API keys: a blank name and a full account get sentences; an expiry is listed', async () => {
    const nameField = view(page).getByLabel('Key name', { exact: true });
    await nameField.fill('   ');
    await nameField.press('Enter');
    await expectStatus(page, 'An API key needs a name of 1 to 64 characters, on one line');
    await expectFocusedField(page, 'Key name');
    assert((await keyItems().count()) === 1, 'no key created');
    // A server at its cap answers 409 (faked once).
    await page.route(
      (url) => url.pathname === '/api/auth/api-keys',
      (route) =>
        route.request().method() === 'POST'
          ? route.fulfill({
              status: 409,
              contentType: 'application/problem+json',
              body: JSON.stringify({ type: 'about:blank', title: 'Conflict', status: 409, code: 'too_many_api_keys' }),
            })
          : route.fallback(),
      { times: 1 },
    );
    await nameField.fill(other);
    await view(page).getByLabel('Expires after (days, optional)').fill('30');
    await nameField.press('Enter');
    await expectStatus(page, 'Your account has as many API keys as it can have. Delete one you no longer use');
    assert(!(await keyField().isVisible()), 'no key shown');
    await shot(page, '22-api-key-refused');
    // The same again, now that the server takes it: its expiry is listed.
    await nameField.press('Enter');
    await expectStatus(page, `API key “${other}” created.`);
    await expectFocusedField(page, 'API key');
    assert((await keyField().inputValue()) !== key, 'a new key');
    const expires = keyItem(other).filter({ hasText: 'never used' }).filter({ hasText: /expires \w/ });
    await expires.waitFor({ timeout: TIMEOUT });
    assert(!(await expires.innerText()).includes('never expires'), 'an expiry date');
    assert((await view(page).getByLabel('Key name', { exact: true }).inputValue()) === '', 'the form is cleared');
    // Leaving the account view forgets the key.
    await page.getByRole('button', { name: 'My tasks', exact: true }).click();
    await expectView(page, 'My tasks');
    await openAccount(page);
    await keyItem(other).waitFor({ timeout: TIMEOUT });
    assert(!(await keyField().isVisible()), 'the key is no longer shown');
    assert((await keyField().inputValue()) === '', 'the key is gone from its field');
  });

  await step('API keys: delete one; it stops working at once', async () => {
    // Keyboard only: Enter on the key's Delete button.
    await page.getByRole('button', { name: `Delete the API key “${name}”` }).focus();
    await page.keyboard.press('Enter');
    await expectStatus(page, `The API key “${name}” is deleted: it no longer works anywhere.`);
    await expectFocused(page, 'API keys');
    await keyItem(other).waitFor({ timeout: TIMEOUT });
    assert((await keyItem(name).count()) === 0 && (await keyItems().count()) === 1, `“${name}” gone from the list`);
    const after = await withKey('/api/auth/me');
    assert(after.status === 401, `the deleted key: 401, found ${after.status}`);
    await shot(page, '23-api-key-deleted');
    await page.getByRole('button', { name: `Delete the API key “${other}”` }).click();
    await expectStatus(page, `The API key “${other}” is deleted`);
    await view(page).getByText('No API keys yet.').waitFor({ timeout: TIMEOUT });
  });

  await step('API keys: none of it on a server without them', async () => {
    // A server without API keys answers their routes 404.
    const off = await context.newPage();
    watch(off, 'tab 11');
    await off.route(
      (url) => url.pathname.startsWith('/api/auth/api-keys'),
      (route) =>
        route.fulfill({
          status: 404,
          contentType: 'application/problem+json',
          body: JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, code: 'not_found' }),
        }),
    );
    await off.goto(base);
    await expectView(off, 'My tasks');
    await openAccount(off);
    await view(off).getByRole('heading', { name: 'Sessions' }).waitFor({ timeout: TIMEOUT });
    assert(!(await view(off).getByRole('heading', { name: 'API keys' }).isVisible()), 'no API keys section');
    assert(!(await off.getByRole('button', { name: 'Create API key' }).isVisible()), 'no “Create API key”');
    await off.close();
    await page.bringToFront();
  });
}
