// The demo page of the example servers: plain JavaScript modules, no
// build step. This one shows the views and signs in; the others:
//
//   messages.js   the status lines and the problem codes in words
//   session.js    HTTP, tokens, refresh, sign-out, the other tabs
//   tasks.js      the task list
//   account.js    the account panel, its sessions and password
//   two-factor.js two-factor authentication on the account panel
//   oauth.js      sign-in with providers, linked accounts
//   passkeys.js, api-keys.js  lent this module's helpers
//
// Two-factor at sign-in: the challenge token lives in this module's
// memory only while its view is open; no storage ever holds it.

import { setUpPasskeys } from './passkeys.js';
import { setUpApiKeys } from './api-keys.js';
import { $, el, say, fail, run, onSubmit, clearMessages } from './messages.js';
import { send, api, accept, current, restore, signedOut, endSession, setSessionHooks } from './session.js';
import { loadTasks } from './tasks.js';
import { loadAccount, closeEverywhere } from './account.js';
import { renderTwoFactor, closeTwoFactorPanel } from './two-factor.js';
import { oauthSignIn, oauthFailed } from './oauth.js';

// ---- Views ----

export function show(view, message = '') {
  if (!current() && (view === 'tasks' || view === 'account')) view = 'sign-in';
  // A challenge belongs to its view, and a shown secret to its panel:
  // leaving them forgets both, and what was typed.
  if (view !== 'two-factor') {
    challenge = null;
    $('#two-factor-form').reset();
  }
  closeTwoFactorPanel();
  closeEverywhere();
  passkeys.reset();
  apiKeys.reset();
  for (const section of document.querySelectorAll('[data-view]')) {
    section.hidden = section.dataset.view !== view;
  }
  if (view === 'sign-in') passkeys.showSignIn();
  const heading = $(`[data-view="${view}"] h1`);
  document.title = `${heading.textContent} – Tasks`;
  heading.focus();
  clearMessages();
  say(message);
  if (view === 'tasks') run(() => loadTasks());
  if (view === 'account') run(loadAccount);
}

export function renderUser() {
  const { user } = current();
  $('#nav').hidden = false;
  $('#who').textContent = user.name || user.email;
  $('#account-email').textContent = user.email;
  // Password managers file a changed or typed password under this account.
  for (const field of document.querySelectorAll('.account-username')) field.value = user.email;
  $('#account-verified').textContent = user.email_verified ? 'Yes' : 'Not yet';
  $('#send-verification').hidden = user.email_verified === true;
  // An account made through a provider has no password to change.
  $('#change-password').hidden = user.has_password === false;
  renderTwoFactor();
  passkeys.renderUser(user);
}

setSessionHooks({
  signedIn: renderUser,
  signedOut(message) {
    $('#nav').hidden = true;
    show('sign-in', message);
  },
  // Said where this tab's focus is: the tab goes on as it was.
  notice: (message) => say(message),
});

// ---- The second factor at sign-in ----

// The sign-in waiting for its second factor, { token, done }: set by
// `signIn`, dropped by `show` as soon as another view is on screen.
let challenge = null;

// Every way of signing in ends here with the server's answer: tokens, or
// a challenge for the second factor first. `done` runs once signed in,
// with the final answer.
export async function signIn(answer, done) {
  if (!answer.two_factor_required) {
    accept(answer);
    return done(answer);
  }
  show('two-factor');
  challenge = { token: answer.challenge_token, done };
  const methods = Array.isArray(answer.methods) ? answer.methods : ['totp', 'backup_code'];
  $('#two-factor-switch').hidden = !(methods.includes('totp') && methods.includes('backup_code'));
  useBackupCode(!methods.includes('totp'));
}

// Switches the second step between the app's code and a backup code, and
// puts the focus in the field that is now shown.
function useBackupCode(backup) {
  $('#two-factor-totp').hidden = backup;
  $('#two-factor-backup').hidden = !backup;
  // A disabled field is neither validated nor sent.
  $('#two-factor-code').disabled = backup;
  $('#two-factor-backup-code').disabled = !backup;
  $('#two-factor-intro').textContent = backup
    ? 'Enter one of the backup codes you saved when you set up two-factor authentication.'
    : 'Your account asks for a second step. Open your authenticator app and enter the code it shows for this account.';
  $('#two-factor-switch').textContent = backup ? 'Use your authenticator app instead' : 'Use a backup code instead';
  $(backup ? '#two-factor-backup-code' : '#two-factor-code').focus();
}

export const passkeys = setUpPasskeys({
  send,
  api,
  run,
  say,
  el,
  signIn,
  signedInView: (message) => show('tasks', message),
});

export const apiKeys = setUpApiKeys({ api, run, say, el });

// ---- Wiring ----

// The address whose verification link the "check your inbox" view offers
// to send again.
let unverifiedEmail = null;

function checkInbox(email, message) {
  unverifiedEmail = email;
  $('#check-inbox-email').textContent = email;
  show('check-inbox', message);
}

const showTasks = () => show('tasks', 'Signed in.');

onSubmit('#sign-in-form', async ({ email, password }, form) => {
  let answer;
  try {
    answer = await send('POST', '/api/auth/sign-in', { body: { email, password }, cookie: true });
  } catch (error) {
    if (error.code !== 'email_not_verified') throw error;
    form.reset();
    return checkInbox(email, 'Please verify your email address first.');
  }
  form.reset();
  await signIn(answer, showTasks);
});

onSubmit('#sign-up-form', async ({ email, name, password }, form) => {
  const body = { email, password, ...(name ? { name } : {}) };
  const answer = await send('POST', '/api/auth/sign-up', { body, cookie: true });
  form.reset();
  // A server that requires a verified address opens no session yet.
  if (answer.email_verification_required) return checkInbox(answer.user.email, 'Account created.');
  accept(answer);
  show('tasks', 'Account created. Welcome!');
});

// One message per press: presses while one is on its way are ignored
// (not by disabling the button, which would drop the keyboard focus).
let resending = false;
$('#resend-verification').addEventListener('click', () => {
  if (resending) return;
  resending = true;
  run(async () => {
    await send('POST', '/api/auth/send-verification-email', { body: { email: unverifiedEmail } });
    say(`A new link is on its way to ${unverifiedEmail}.`);
  }).finally(() => {
    resending = false;
  });
});

// The address a sign-in code was sent to.
let codeEmail = null;

onSubmit('#email-sign-in-form', async ({ email }, form) => {
  await send('POST', '/api/auth/email-sign-in', { body: { email } });
  form.reset();
  codeEmail = email;
  $('#email-code-email').textContent = email;
  show('email-code', `A link and a code are on their way to ${email}.`);
});

onSubmit('#email-code-form', async ({ code }, form) => {
  const body = { email: codeEmail, code: code.trim() };
  const answer = await send('POST', '/api/auth/email-sign-in/verify', { body, cookie: true });
  form.reset();
  await signIn(answer, showTasks);
});

onSubmit('#two-factor-form', async ({ code, backup_code: backupCode }, form) => {
  const pending = challenge;
  // Spaces are for reading; the server ignores dashes too.
  const body = { challenge_token: pending?.token };
  if (backupCode === undefined) body.code = code.replace(/\s/g, '');
  else body.backup_code = backupCode.trim();
  let answer;
  try {
    answer = await send('POST', '/api/auth/two-factor/verify', { body, cookie: true });
  } catch (error) {
    if (error.code === 'invalid_token') {
      show('sign-in');
      return say('This sign-in has expired or had too many wrong codes. Please sign in again.', true);
    }
    // Ready for the next try: typing replaces the wrong code.
    if (error.code === 'invalid_code') form.querySelector('input:enabled').select();
    throw error;
  }
  form.reset();
  accept(answer);
  await pending.done(answer);
});

$('#two-factor-switch').addEventListener('click', () => {
  say('');
  useBackupCode($('#two-factor-backup').hidden);
});

onSubmit('#forgot-form', async ({ email }) => {
  await send('POST', '/api/auth/request-password-reset', { body: { email } });
  show('sign-in', 'If that address has an account, a reset link is on its way.');
});

let resetToken = null;
onSubmit('#reset-form', async ({ password }, form) => {
  await send('POST', '/api/auth/reset-password', { body: { token: resetToken, new_password: password } });
  form.reset();
  if (current()) signedOut();
  show('sign-in', 'Password changed. Sign in with your new password.');
});

for (const button of document.querySelectorAll('[data-go]')) {
  button.addEventListener('click', () => {
    const target = button.dataset.go;
    run(async () => show(target === 'home' ? (current() ? 'tasks' : 'sign-in') : target));
  });
}

$('#sign-out').addEventListener('click', () => run(() => endSession(false)));

// ---- Start ----

async function start() {
  // The links in messages carry their token in the fragment; take it and
  // drop it from the address bar and the history.
  // So do the ends of a provider's round trip, `#code=` or `#error=`.
  const fragment = new URLSearchParams(location.hash.slice(1));
  const [token, code, oauthError] = ['token', 'code', 'error'].map((name) => fragment.get(name));
  const path = location.pathname;
  if (token || code || oauthError) history.replaceState(null, '', path);
  const restored = await restore().catch(() => false);
  if (code) {
    await oauthSignIn(code, restored);
  } else if (oauthError) {
    oauthFailed(oauthError, restored);
  } else if (path === '/reset-password' && token) {
    resetToken = token;
    show('reset');
  } else if (path === '/email-sign-in' && token) {
    let answer;
    try {
      answer = await send('POST', '/api/auth/email-sign-in/verify', { body: { token }, cookie: true });
    } catch (error) {
      show(restored ? 'tasks' : 'sign-in');
      fail(error);
    }
    if (answer) await signIn(answer, showTasks);
  } else if (path === '/verify-email' && token) {
    show('verify');
    try {
      const { user } = await send('POST', '/api/auth/verify-email', { body: { token } });
      if (current()) current().user = user;
      $('#verify-result').textContent = `Thank you: ${user.email} is verified.`;
    } catch (error) {
      fail(error);
      $('#verify-result').textContent = 'This address could not be verified.';
    }
  } else {
    show(restored ? 'tasks' : 'sign-in');
  }
}

start();
