// What the page tells a person: the status lines, the one table that turns
// a problem's `code` into a sentence, and the helpers every module runs
// its actions through.
//
// Each section with actions of its own (change password, two-factor,
// passkeys, API keys, sessions, linked accounts) has its own status line,
// beside its buttons; the views share the one at the top, which stays on
// screen while the page scrolls. A message goes to the status line of the
// section that holds the keyboard focus, so it appears where the person
// just acted.

export const $ = (selector) => document.querySelector(selector);

export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((child) => child !== null));
  return node;
}

/** A refusal of the server, with its problem's `code`. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code;
    this.retryAfter = problem.retryAfter;
  }
}

// The view on screen, and which second step is open: some codes read
// differently there.
const onView = (name) => !$(`[data-view="${name}"]`).hidden;

// Every `code` the page can meet, in words. A function answers from what
// is on screen. Never the server's `detail`: it is written for developers.
const MESSAGES = {
  email_taken: 'That email address is already registered. Sign in, or use “Forgot your password?”.',
  invalid_email: 'That does not look like an email address. Check it and try again.',
  invalid_credentials: 'Wrong email or password.',
  wrong_password: 'The current password is wrong.',
  password_too_short: 'That password is too short: use at least 8 characters.',
  password_too_long: 'That password is too long: use at most 128 characters.',
  password_too_common: 'That password is one of the most common ones, easy to guess. Please choose another.',
  invalid_code: () =>
    onView('account')
      ? 'That code is wrong. Enter the newest code your app shows for this account, and check that ' +
        'this device’s clock is right.'
      : $('#two-factor-backup').hidden
        ? 'That code is wrong. Enter the newest code your authenticator app shows.'
        : 'That backup code is wrong or has been used already. Each backup code works once.',
  reauthentication_required:
    'For your safety this needs a recent sign-in. Sign out, sign in again, then try again within 10 minutes.',
  email_not_verified: () =>
    onView('account')
      ? 'Two-factor authentication needs a verified email address. Verify yours first.'
      : 'Please verify your email address first: follow the link we sent you.',
  last_sign_in_method:
    'This is the only way you can sign in, so it cannot be unlinked. Set a password first ' +
    '(sign out, then use “Forgot your password?”), or link another account.',
  invalid_token: () =>
    onView('email-code')
      ? 'That code is wrong or has expired. Check it, or ask for a new one.'
      : 'This link is invalid or has expired. Please ask for a new one.',
  validation_failed: () =>
    onView('tasks')
      ? 'A task needs a title (up to 200 characters, not only spaces); details take up to 1000 characters.'
      : 'Something you typed is empty or too long. Please check it.',
  invalid_name: 'Give it a name of 1 to 64 characters.',
  invalid_expiry: 'Choose an expiry of 1 to 365 days, or leave it empty.',
  not_found: 'That is gone already: it may have been deleted in another tab. Reload the page to see what is left.',
  two_factor_not_enabled: 'Two-factor authentication is off already.',
  too_many_passkeys: 'You have as many passkeys as an account may hold. Delete one to add another.',
  too_many_api_keys: 'You have as many API keys as an account may hold. Delete one to create another.',
  invalid_credential: 'That passkey did not sign you in. Try again, or sign in another way.',
  api_key_not_allowed: 'An API key cannot do this: sign in on this page instead.',
  payload_too_large: 'That is too long to send. Please shorten it.',
  service_unavailable: 'The server is busy right now. Please try again in a moment.',
};
const GENERIC = 'Something went wrong on the server’s side. Please try again; if it keeps happening, reload the page.';

/** The sentence for a failed action: never the raw `detail`. */
export function messageFor(error) {
  if (!(error instanceof ApiError)) return 'The server cannot be reached. Please check your connection and try again.';
  if (error.status === 429) {
    const wait = /^\d+$/.test(error.retryAfter || '') ? `${error.retryAfter} seconds` : 'a minute';
    let message = `Too many attempts. Try again in ${wait}.`;
    // Only a sign-in refusal is an account's lock, which a reset lifts.
    if (onView('sign-in')) message += ' If your account is locked, resetting your password unlocks it.';
    return message;
  }
  // Own entries only: a code such as `constructor` is no message.
  const entry = Object.hasOwn(MESSAGES, error.code) ? MESSAGES[error.code] : undefined;
  return (typeof entry === 'function' ? entry() : entry) || GENERIC;
}

// The status line of the section that holds `node`: the nearest one
// shown, else the top one.
function statusNear(node) {
  const region = node?.closest?.('[data-messages]');
  const line = region?.querySelector(':scope > .status');
  return line && line.checkVisibility?.() !== false && !region.closest('[hidden]') ? line : $('#status');
}

/** Shows `message` beside where the focus is; one message at a time. */
export function say(message, isError = false) {
  const target = statusNear(document.activeElement);
  for (const line of document.querySelectorAll('.status')) {
    if (line !== target) {
      line.textContent = '';
      line.classList.remove('error');
    }
  }
  target.textContent = message;
  target.classList.toggle('error', isError);
  return target;
}

/** Clears every status line (a new view starts with none). */
export function clearMessages() {
  for (const line of document.querySelectorAll('.status')) {
    line.textContent = '';
    line.classList.remove('error');
  }
}

export function fail(error) {
  return say(messageFor(error), true);
}

/** Runs an action, showing its error (if any) where the person acted. */
export async function run(action) {
  try {
    await action();
  } catch (error) {
    // A session that ended has shown its message already.
    if (!error.handled) fail(error);
  }
}

// The field a refusal is about, by the names the forms give their fields.
const FIELDS = {
  email_taken: ['email'],
  invalid_email: ['email'],
  invalid_credentials: ['password'],
  wrong_password: ['current', 'password'],
  password_too_short: ['new', 'password'],
  password_too_long: ['new', 'password'],
  password_too_common: ['new', 'password'],
  invalid_code: ['code', 'backup_code'],
  invalid_token: ['code'],
  validation_failed: ['title', 'description'],
  invalid_name: ['name'],
  invalid_expiry: ['expires_in_days'],
};

// After a refused form: the focus in the field in error (or the form's
// first field), which names the message as its description, so a screen
// reader reads both and a sighted person sees the message beside it.
function focusProblem(form, error) {
  const names = (Object.hasOwn(FIELDS, error.code) && FIELDS[error.code]) || [];
  const fields = [...form.querySelectorAll('input:enabled, textarea:enabled, select:enabled')].filter(
    (field) => field.type !== 'hidden' && field.checkVisibility?.() !== false,
  );
  const field = names.map((name) => fields.find((f) => f.name === name)).find(Boolean) || fields[0];
  const line = say(messageFor(error), true);
  if (!line.id) return;
  if (field) {
    const described = (field.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && id !== line.id);
    field.setAttribute('aria-describedby', [...described, line.id].join(' '));
    field.focus();
    field.select?.();
  } else {
    line.tabIndex = -1;
    line.focus();
  }
}

/** A form's submit: one at a time, its values to `action`; on refusal the focus goes to the problem. */
export function onSubmit(id, action) {
  const form = $(id);
  let busy = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    // Not by disabling the button, which would drop the keyboard focus.
    if (busy) return;
    busy = true;
    const button = form.querySelector('[type=submit]');
    button.setAttribute('aria-disabled', 'true');
    const values = Object.fromEntries(new FormData(form));
    (async () => {
      try {
        await action(values, form);
      } catch (error) {
        if (!error.handled) focusProblem(form, error);
      }
    })().finally(() => {
      busy = false;
      button.removeAttribute('aria-disabled');
    });
  });
}
