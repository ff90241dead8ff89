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

export async function expectStatus(page, text) {
  await page.locator('#status', { hasText: text }).waitFor({ timeout: TIMEOUT });
}

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
