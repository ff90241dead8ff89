// The keyboard-only pass of the browser scenario (demo.mjs runs it): a
// new user signs up, adds tasks, completes one with Space, edits it and
// saves, edits it and presses Escape, deletes one, filters the list and
// signs out, with page.keyboard alone. After each step the focused
// element is checked by its role and accessible name, as a screen reader
// would announce it: the focus must never fall back to the page itself.

import { TIMEOUT, assert, view, expectView, expectStatus, expectFocus, tabTo, expectSignedIn, expectSignedOut } from './helpers.mjs';

// The titles in the list, as shown.
const shown = (page) => page.getByRole('list', { name: 'Tasks' }).getByRole('listitem').locator('label').allInnerTexts();

async function expectShown(page, titles) {
  const deadline = Date.now() + TIMEOUT;
  let seen;
  while (Date.now() < deadline) {
    seen = await shown(page);
    if (JSON.stringify(seen) === JSON.stringify(titles)) return;
    await page.waitForTimeout(50);
  }
  throw new Error(`expected the tasks ${JSON.stringify(titles)}, the page shows ${JSON.stringify(seen)}`);
}

// `t`: demo.mjs's { browser, base, step, shot, watch }.
export async function keyboardSteps({ browser, base, step, shot, watch }) {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  const page = await context.newPage();
  watch(page, 'keyboard tab');
  const { keyboard } = page;
  const email = `kay-${Date.now()}@example.com`;

  await step('keyboard only: sign up', async () => {
    await page.goto(base);
    await expectSignedOut(page);
    await expectFocus(page, 'heading', 'Sign in');
    await tabTo(page, 'button', 'Create an account');
    await keyboard.press('Enter');
    await expectView(page, 'Create an account');
    await expectFocus(page, 'heading', 'Create an account');
    await keyboard.press('Tab');
    await expectFocus(page, 'textbox', 'Email');
    await keyboard.type(email);
    await keyboard.press('Tab');
    await expectFocus(page, 'textbox', 'Name (optional)');
    await keyboard.type('Kay');
    await keyboard.press('Tab');
    await expectFocus(page, 'textbox', 'Password');
    // Too short first: the focus stays in the field, which names the message.
    await keyboard.type('short');
    await keyboard.press('Enter');
    await expectFocus(page, 'textbox', 'Password');
    await keyboard.press('Control+A');
    await keyboard.type('keys all the way down');
    await keyboard.press('Enter');
    await expectView(page, 'My tasks');
    await expectFocus(page, 'heading', 'My tasks');
    await expectSignedIn(page, 'Kay');
  });

  await step('keyboard only: add two tasks, complete one with Space', async () => {
    await keyboard.press('Tab');
    await expectFocus(page, 'textbox', 'New task');
    for (const title of ['Oil the hinges', 'Sweep the porch']) {
      await keyboard.type(title);
      await keyboard.press('Enter');
      await expectStatus(page, `“${title}” added.`);
      await expectFocus(page, 'textbox', 'New task');
    }
    await expectShown(page, ['Sweep the porch', 'Oil the hinges']);
    await tabTo(page, 'checkbox', 'Oil the hinges');
    await keyboard.press('Space');
    await expectStatus(page, '“Oil the hinges” marked done.');
    await expectFocus(page, 'checkbox', 'Oil the hinges');
    assert(await page.getByRole('checkbox', { name: 'Oil the hinges' }).isChecked(), 'shown done');
  });

  await step('keyboard only: edit and save, edit and Escape', async () => {
    await keyboard.press('Tab');
    await expectFocus(page, 'button', 'Edit “Oil the hinges”');
    await keyboard.press('Enter');
    await expectFocus(page, 'textbox', 'Title');
    await keyboard.press('Control+A');
    await keyboard.type('Oil the gate hinges');
    await keyboard.press('Enter');
    await expectStatus(page, 'Task saved.');
    await expectFocus(page, 'button', 'Edit “Oil the gate hinges”');
    await expectShown(page, ['Sweep the porch', 'Oil the gate hinges']);
    await keyboard.press('Enter');
    await expectFocus(page, 'textbox', 'Title');
    await keyboard.type(' and the door');
    await keyboard.press('Escape');
    await expectFocus(page, 'button', 'Edit “Oil the gate hinges”');
    await expectShown(page, ['Sweep the porch', 'Oil the gate hinges']);
    assert(!(await view(page).getByRole('textbox', { name: 'Title' }).isVisible()), 'the edit form closed');
  });

  await step('keyboard only: delete, filter, sign out', async () => {
    await tabTo(page, 'button', 'Delete “Sweep the porch”', 'Shift+Tab');
    await keyboard.press('Enter');
    await expectStatus(page, '“Sweep the porch” deleted.');
    await expectFocus(page, 'textbox', 'New task');
    await expectShown(page, ['Oil the gate hinges']);
    await tabTo(page, 'combobox', 'Show');
    // A closed select changes with the arrow keys: Pending, then Completed.
    await keyboard.press('ArrowDown');
    await page.getByText('No tasks here.').waitFor({ timeout: TIMEOUT });
    await expectFocus(page, 'combobox', 'Show');
    await keyboard.press('ArrowDown');
    await expectShown(page, ['Oil the gate hinges']);
    await expectFocus(page, 'combobox', 'Show');
    await shot(page, '26-keyboard');
    await tabTo(page, 'button', 'Sign out', 'Shift+Tab');
    await keyboard.press('Enter');
    await expectSignedOut(page);
    await expectStatus(page, 'Signed out.');
    await expectFocus(page, 'heading', 'Sign in');
  });

  await context.close();
}
