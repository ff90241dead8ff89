// What the browser scenarios (demo.mjs, passkeys.mjs) check on the demo
// page, as a person sees it: the view on screen, the status line, where
// the keyboard focus is.

export const TIMEOUT = 10_000;

export function assert(condition, message) {
  if (!condition) throw new Error(`expected: ${message}`);
}

// The view on screen: every label lookup is scoped to it, since the
// hidden views have fields with the same labels.
export const view = (page) => page.locator('section:not([hidden])');
export const heading = (page) => view(page).locator('h1');

export async function expectView(page, title) {
  await heading(page).filter({ hasText: title }).waitFor({ timeout: TIMEOUT });
}

// A message on screen in one of the page's status lines (the top one, or
// the one beside the section acted in).
export async function expectStatus(page, text) {
  await page.getByRole('status').filter({ hasText: text }).first().waitFor({ timeout: TIMEOUT });
}

// What the focused element is, for a failure's message.
const describeFocus = (page) =>
  page.evaluate(() => {
    const node = document.activeElement;
    if (!node || node === document.body) return 'the page itself (<body>)';
    const name = node.getAttribute('aria-label') || node.labels?.[0]?.textContent || node.textContent || '';
    return `<${node.tagName.toLowerCase()}> “${name.trim().slice(0, 80)}”`;
  });

// Waits until the focus is on the element of `role` named `name` (by its
// accessible name, as a screen reader announces it).
export async function expectFocus(page, role, name) {
  const target = page.getByRole(role, { name, exact: true });
  const deadline = Date.now() + TIMEOUT;
  while (Date.now() < deadline) {
    if (await target.evaluateAll((nodes) => nodes.includes(document.activeElement))) return;
    await page.waitForTimeout(50);
  }
  throw new Error(`expected: focus on the ${role} “${name}”, found ${await describeFocus(page)}`);
}

// Presses `key` (Tab, or Shift+Tab) until the focus is on that element:
// how a keyboard user gets there. At most 40 presses.
export async function tabTo(page, role, name, key = 'Tab') {
  const target = page.getByRole(role, { name, exact: true });
  for (let press = 0; press < 40; press += 1) {
    if (await target.evaluateAll((nodes) => nodes.includes(document.activeElement))) return;
    await page.keyboard.press(key);
  }
  throw new Error(`expected: ${key} reaches the ${role} “${name}”, stuck at ${await describeFocus(page)}`);
}

// The header's text as a person reads it.
export const headerText = async (page) => (await page.locator('header').innerText()).replace(/\s+/g, ' ').trim();

// The signed-out screen: the sign-in view, and a header with nothing of a
// user (no name, no "My tasks", "Account" or "Sign out").
export async function expectSignedOut(page) {
  await expectView(page, 'Sign in');
  const header = await headerText(page);
  assert(header === 'Tasks', `a header without the user's menu, found “${header}”`);
  for (const name of ['My tasks', 'Account', 'Sign out']) {
    assert(!(await page.getByRole('button', { name, exact: true }).isVisible()), `no “${name}” button when signed out`);
  }
}

// No user's menu in the header (before a sign-in's second step, say).
export async function expectNoUserMenu(page) {
  const header = await headerText(page);
  assert(header === 'Tasks', `a header without the user's menu, found “${header}”`);
}

// Signed in as `name`: the header shows it, with the account menu.
export async function expectSignedIn(page, name) {
  await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor({ timeout: TIMEOUT });
  const header = await headerText(page);
  assert(header === `Tasks ${name} My tasks Account Sign out`, `the header of a signed-in ${name}, found “${header}”`);
}

// The texts an element's aria-describedby names, as a screen reader reads
// them after its name.
export const description = (locator) =>
  locator.evaluate((node) =>
    (node.getAttribute('aria-describedby') || '')
      .split(' ')
      .map((id) => document.getElementById(id)?.textContent.trim())
      .filter(Boolean)
      .join(' '),
  );

// Panics unless the focused element is a button named `name`.
export async function expectFocused(page, name) {
  const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
  assert(focused === name, `focus on “${name}”, found “${focused}”`);
}

// Panics unless the focused element is a field labelled `label`.
export async function expectFocusedField(page, label) {
  const focused = await page.evaluate(() => document.activeElement?.labels?.[0]?.textContent?.trim());
  assert(focused === label, `focus in the field “${label}”, found “${focused}”`);
}
