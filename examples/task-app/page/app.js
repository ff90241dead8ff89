// The demo page of the example servers: plain JavaScript, no build step.
//
// Tokens: the access token lives in this module's memory only (gone on
// reload, invisible to other scripts and to later visits). The refresh
// token never reaches this script: requests with `X-Refresh-Cookie: 1` get
// it as an HttpOnly `__Host-` cookie, and a reload restores the session
// with one cookie refresh.
//
// Refresh tokens are single use and a second use of a rotated one revokes
// the session, so refreshes are serialised: one promise per tab, and a
// Web Lock across the tabs of this origin, which share the cookie.
//
// Two-factor: a sign-in's challenge token, a new TOTP secret and backup
// codes live in this module's memory and on screen only while their view
// or panel is open; no storage ever holds them.
//
// Passkeys and API keys: passkeys.js and api-keys.js, which this module
// lends its helpers.

import { setUpPasskeys } from './passkeys.js';
import { setUpApiKeys } from './api-keys.js';

const COOKIE_MODE = { 'X-Refresh-Cookie': '1' };

let auth = null; // { token, user, timer }
let tasksQuery = { status: 'all', sort: 'created' };
let refreshing = null;

const $ = (selector) => document.querySelector(selector);

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code;
    this.retryAfter = problem.retryAfter;
  }
}

// ---- HTTP ----

async function send(method, path, { body, token, cookie } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  if (cookie) Object.assign(headers, COOKIE_MODE);
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const type = response.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await response.json() : null;
  if (!response.ok) {
    const problem = data || {};
    problem.retryAfter = response.headers.get('Retry-After');
    throw new ApiError(response.status, problem);
  }
  return data;
}

// A call with the access token: on a 401 `token_expired` (a tab whose timer
// was throttled in the background, say) refresh once and retry; any other
// 401 means the session is over (signed out elsewhere, revoked), except
// `invalid_credential`: a passkey the server refused.
async function api(method, path, body) {
  if (!auth) throw Object.assign(new ApiError(401, {}), { handled: true });
  try {
    return await send(method, path, { body, token: auth.token });
  } catch (error) {
    if (error.status !== 401 || error.code === 'invalid_credential') throw error;
    if (error.code === 'token_expired' && (await refresh())) {
      try {
        return await send(method, path, { body, token: auth.token });
      } catch (retryError) {
        if (retryError.status !== 401) throw retryError;
      }
    }
    signedOut('Your session has ended. Please sign in again.');
    error.handled = true;
    throw error;
  }
}

function withRefreshLock(work) {
  // Web Locks exist in secure contexts only (https, or http on localhost).
  return navigator.locks ? navigator.locks.request('auth-refresh', work) : work();
}

// Resolves to true with a fresh access token, false when the cookie no
// longer holds a valid session.
function refresh() {
  refreshing ??= withRefreshLock(async () => {
    try {
      accept(await send('POST', '/api/auth/refresh', { body: {}, cookie: true }));
      return true;
    } catch (error) {
      if (error.status === 401 || error.status === 403) return false;
      throw error;
    }
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function accept({ user, access_token: token, expires_in: lifetime }) {
  if (auth) clearTimeout(auth.timer);
  // Shortly before expiry: a fifth of the lifetime early, at most a minute.
  const early = Math.min(60, lifetime / 5);
  const timer = setTimeout(scheduledRefresh, Math.max(1, lifetime - early) * 1000);
  auth = { token, user, timer };
  renderUser();
}

async function scheduledRefresh() {
  try {
    if (!(await refresh())) signedOut('Your session has ended. Please sign in again.');
  } catch {
    // Offline or a server hiccup: the next call's 401 retries.
  }
}

function signedOut(message) {
  if (auth) clearTimeout(auth.timer);
  auth = null;
  $('#nav').hidden = true;
  show('sign-in', message);
}

// ---- Views ----

function show(view, message = '') {
  if (!auth && (view === 'tasks' || view === 'account')) view = 'sign-in';
  // A challenge belongs to its view, and a shown secret to its panel:
  // leaving them forgets both, and what was typed.
  if (view !== 'two-factor') {
    challenge = null;
    $('#two-factor-form').reset();
  }
  closeTwoFactorPanel();
  passkeys.reset();
  apiKeys.reset();
  for (const section of document.querySelectorAll('[data-view]')) {
    section.hidden = section.dataset.view !== view;
  }
  if (view === 'sign-in') passkeys.showSignIn();
  const heading = $(`[data-view="${view}"] h1`);
  document.title = `${heading.textContent} – Tasks`;
  heading.focus();
  say(message);
  if (view === 'tasks') run(loadTasks);
  if (view === 'account') run(loadAccount);
}

function say(message, isError = false) {
  const status = $('#status');
  status.textContent = message;
  status.classList.toggle('error', isError);
}

function fail(error) {
  const messages = {
    email_taken: 'That email address is already registered.',
    invalid_credentials: 'Wrong email or password.',
    wrong_password: 'The current password is wrong.',
    invalid_code: !$('[data-view="account"]').hidden
      ? 'That code is wrong. Enter the newest code your app shows for this account, and check that ' +
        'this device’s clock is right.'
      : $('#two-factor-backup').hidden
        ? 'That code is wrong. Enter the newest code your authenticator app shows.'
        : 'That backup code is wrong or has been used already. Each backup code works once.',
    reauthentication_required:
      'For your safety this needs a recent sign-in. Sign out, sign in again, then try again ' +
      'within 10 minutes.',
    email_not_verified: $('[data-view="account"]').hidden
      ? 'Please verify your email address first: follow the link we sent you.'
      : 'Two-factor authentication needs a verified email address. Verify yours first.',
    last_sign_in_method:
      'This is the only way you can sign in, so it cannot be unlinked. Set a password first ' +
      '(sign out, then use “Forgot your password?”), or link another account.',
    invalid_token: $('[data-view="email-code"]').hidden
      ? 'This link is invalid or has expired. Please ask for a new one.'
      : 'That code is wrong or has expired. Check it, or ask for a new one.',
  };
  let message = messages[error.code] || error.message;
  if (error.status === 429) {
    message = `Too many attempts. Try again in ${error.retryAfter || 'a few'} seconds.`;
    // Only a sign-in refusal is an account's lock, which a reset lifts.
    if (!$('[data-view="sign-in"]').hidden) message += ' If your account is locked, resetting your password unlocks it.';
  }
  if (!(error instanceof ApiError)) message = 'The server cannot be reached. Please try again.';
  say(message, true);
}

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((child) => child !== null));
  return node;
}

function renderUser() {
  $('#nav').hidden = false;
  $('#who').textContent = auth.user.name || auth.user.email;
  $('#account-email').textContent = auth.user.email;
  $('#account-verified').textContent = auth.user.email_verified ? 'Yes' : 'Not yet';
  $('#send-verification').hidden = auth.user.email_verified === true;
  // An account made through a provider has no password to change.
  $('#change-password').hidden = auth.user.has_password === false;
  renderTwoFactor();
  passkeys.renderUser(auth.user);
}

// ---- The second factor at sign-in ----

// The sign-in waiting for its second factor, { token, done }: set by
// `signIn`, dropped by `show` as soon as another view is on screen.
let challenge = null;

// Every way of signing in ends here with the server's answer: tokens, or
// a challenge for the second factor first. `done` runs once signed in,
// with the final answer.
async function signIn(answer, done) {
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

// ---- Tasks ----

const tasksPath = () => `/api/${encodeURIComponent(auth.user.id)}/tasks`;

async function loadTasks() {
  const query = new URLSearchParams(tasksQuery);
  const tasks = await api('GET', `${tasksPath()}?${query}`);
  $('#task-list').replaceChildren(...tasks.map(taskItem));
  $('#no-tasks').hidden = tasks.length > 0;
}

function taskItem(task) {
  const path = `${tasksPath()}/${task.id}`;
  const done = el('input', { type: 'checkbox', checked: task.completed, id: `done-${task.id}` });
  done.addEventListener('change', () =>
    run(async () => {
      await api('PATCH', `${path}/complete`);
      await loadTasks();
      say(`“${task.title}” marked ${task.completed ? 'not done' : 'done'}.`);
    }),
  );
  const edit = el('button', { type: 'button', textContent: 'Edit' });
  edit.setAttribute('aria-label', `Edit “${task.title}”`);
  edit.addEventListener('click', () => item.replaceWith(editForm(task, path)));
  const remove = el('button', { type: 'button', textContent: 'Delete' });
  remove.setAttribute('aria-label', `Delete “${task.title}”`);
  remove.addEventListener('click', () =>
    run(async () => {
      await api('DELETE', path);
      await loadTasks();
      say(`“${task.title}” deleted.`);
      $('#new-title').focus();
    }),
  );
  const item = el(
    'li',
    { className: task.completed ? 'task done' : 'task' },
    done,
    el('label', { htmlFor: done.id, textContent: task.title }),
    el('span', { className: 'actions' }, edit, remove),
    task.description ? el('p', { className: 'description', textContent: task.description }) : null,
  );
  return item;
}

function editForm(task, path) {
  const title = el('input', { value: task.title, maxLength: 200, required: true, id: `edit-title-${task.id}` });
  const description = el('textarea', { value: task.description || '', maxLength: 1000, rows: 2, id: `edit-description-${task.id}` });
  const cancel = el('button', { type: 'button', textContent: 'Cancel' });
  cancel.addEventListener('click', () => run(loadTasks));
  const form = el(
    'form',
    { className: 'edit' },
    el('label', { htmlFor: title.id, textContent: 'Title' }),
    title,
    el('label', { htmlFor: description.id, textContent: 'Details' }),
    description,
    el('button', { type: 'submit', textContent: 'Save' }),
    cancel,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run(async () => {
      await api('PUT', path, { title: title.value, description: description.value || null });
      await loadTasks();
      say('Task saved.');
    });
  });
  const item = el('li', { className: 'task editing' }, form);
  queueMicrotask(() => title.focus());
  return item;
}

// ---- Account ----

async function loadAccount() {
  await providersLoaded;
  const [{ user }, sessions, accounts, keys, apiKeyList] = await Promise.all([
    api('GET', '/api/auth/me'),
    api('GET', '/api/auth/sessions'),
    providers.length ? api('GET', '/api/auth/accounts') : [],
    passkeys.load(),
    apiKeys.load(),
  ]);
  auth.user = user;
  renderUser();
  renderLinked(accounts);
  passkeys.renderList(keys);
  apiKeys.renderList(apiKeyList);
  $('#session-list').replaceChildren(
    ...sessions.map((session) => {
      const started = new Date(session.created_at).toLocaleString();
      const item = el('li', { textContent: `Signed in ${started}${session.current ? ' (this browser)' : ''} ` });
      if (!session.current) {
        const end = el('button', { type: 'button', textContent: 'Sign out' });
        end.setAttribute('aria-label', `Sign out the session from ${started}`);
        end.addEventListener('click', () =>
          run(async () => {
            await api('DELETE', `/api/auth/sessions/${encodeURIComponent(session.id)}`);
            await loadAccount();
            say('That session is signed out.');
          }),
        );
        item.append(end);
      }
      return item;
    }),
  );
}

// ---- Two-factor authentication (account panel) ----

// What the panel shows besides its buttons: null, or 'confirm', 'enrol'
// or 'codes' while a step is open.
let twoFactorStep = null;
// The step the confirm form is for: a key of TWO_FACTOR_ACTIONS.
let confirming = null;
// The backup codes on screen, for the download.
let shownCodes = [];

function renderTwoFactor() {
  const on = auth.user.two_factor_enabled;
  // A server without two-factor says nothing about it.
  $('#two-factor').hidden = typeof on !== 'boolean';
  // The server sets it up for verified addresses only: whoever holds an
  // unverified address could take the account over by email sign-in.
  const verified = auth.user.email_verified !== false;
  $('#two-factor-state').textContent = on
    ? 'On: signing in asks for a code from your authenticator app (or a backup code).'
    : `Off: signing in takes one step.${verified ? '' : ' To set it up, verify your email address first.'}`;
  $('#two-factor-actions').hidden = twoFactorStep !== null;
  $('#two-factor-setup').hidden = on || !verified;
  $('#two-factor-disable').hidden = !on;
  $('#two-factor-regenerate').hidden = !on;
}

// Closes any open step and wipes the secret and codes it showed.
function closeTwoFactorPanel() {
  twoFactorStep = null;
  confirming = null;
  shownCodes = [];
  for (const form of ['#two-factor-confirm-form', '#two-factor-enable-form']) {
    $(form).reset();
    $(form).hidden = true;
  }
  $('#two-factor-enrol').hidden = true;
  $('#two-factor-qr').removeAttribute('src');
  $('#two-factor-secret').textContent = '';
  $('#two-factor-issuer').textContent = '';
  $('#two-factor-link').removeAttribute('href');
  $('#backup-code-list').replaceChildren();
  $('#backup-codes').hidden = true;
  if (auth) renderTwoFactor();
}

function openTwoFactorStep(step) {
  closeTwoFactorPanel();
  twoFactorStep = step;
  renderTwoFactor();
}

// The panel's buttons: each asks for the password (a fresh sign-in stands
// in for it when the account has none), then calls the server.
const TWO_FACTOR_ACTIONS = {
  setup: {
    text: 'Setting up two-factor authentication starts with your password.',
    button: 'Continue',
    run: setUpTwoFactor,
  },
  disable: {
    text: 'Without two-factor authentication, your password alone signs you in again.',
    button: 'Turn off two-factor',
    async run(body) {
      await api('POST', '/api/auth/two-factor/disable', body);
      await twoFactorChanged('Two-factor authentication is off.');
    },
  },
  regenerate: {
    text: 'New backup codes replace your current ones, which then stop working.',
    button: 'Make new backup codes',
    async run(body) {
      const { backup_codes: codes } = await api('POST', '/api/auth/two-factor/backup-codes', body);
      openTwoFactorStep('codes');
      showBackupCodes(codes, 'Your new backup codes', true);
      say('New backup codes are ready. The old ones no longer work.');
      $('#backup-codes-heading').focus();
    },
  },
};

function askToConfirm(action) {
  const hasPassword = auth.user.has_password !== false;
  if (action === 'setup' && !hasPassword) return run(() => setUpTwoFactor({}));
  openTwoFactorStep('confirm');
  confirming = action;
  const { text, button } = TWO_FACTOR_ACTIONS[action];
  $('#two-factor-confirm-text').textContent = hasPassword ? `${text} Please enter it to confirm.` : text;
  $('#two-factor-password-field').hidden = !hasPassword;
  $('#two-factor-password').disabled = !hasPassword;
  $('#two-factor-confirm').textContent = button;
  $('#two-factor-confirm-form').hidden = false;
  $(hasPassword ? '#two-factor-password' : '#two-factor-confirm').focus();
}

const otpauthUrl = (text) => {
  try {
    const url = new URL(text);
    return url.protocol === 'otpauth:' ? url : null;
  } catch {
    return null;
  }
};

async function setUpTwoFactor(body) {
  const setup = await api('POST', '/api/auth/two-factor/setup', body);
  openTwoFactorStep('enrol');
  const qr = $('#two-factor-qr');
  // Only a picture: the policy allows `data:` images, and nothing else.
  const picture = typeof setup.qr_code_data_url === 'string' && setup.qr_code_data_url.startsWith('data:image/');
  if (picture) qr.src = setup.qr_code_data_url;
  qr.hidden = !picture;
  // Groups of four are easier to copy by hand; apps ignore the spaces.
  $('#two-factor-secret').textContent = setup.secret.match(/.{1,4}/g).join(' ');
  const app = otpauthUrl(setup.otpauth_url);
  if (app) $('#two-factor-link').href = app.href;
  $('#two-factor-link').hidden = !app;
  // The name the app lists the account under is the server's to choose.
  const issuer = app?.searchParams.get('issuer');
  $('#two-factor-issuer').textContent = issuer ? `The app lists it as “${issuer}”.` : '';
  showBackupCodes(setup.backup_codes, '2. Save your backup codes', false);
  $('#two-factor-enrol').hidden = false;
  $('#two-factor-enable-form').hidden = false;
  say('Two-factor authentication is not on yet: add it to your app, save your backup codes, then enter a code.');
  // The step starts with the picture and the key, before its one field.
  $('#two-factor-enrol-heading').focus();
}

function showBackupCodes(codes, title, closable) {
  shownCodes = codes;
  $('#backup-codes-heading').textContent = title;
  $('#backup-code-list').replaceChildren(...codes.map((code) => el('li', {}, el('code', { textContent: code }))));
  $('#backup-codes-done').hidden = !closable;
  $('#backup-codes').hidden = false;
}

// A text file of the codes on screen, made in this tab: a Blob and a
// temporary link, nothing sent anywhere.
function downloadBackupCodes() {
  const text = [
    'Backup codes for Tasks',
    `Account: ${auth.user.email}`,
    `Made: ${new Date().toLocaleString()}`,
    '',
    'Each code signs you in once, in place of a code from your authenticator app.',
    'Making new codes voids these.',
    '',
    ...shownCodes,
    '',
  ].join('\n');
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const link = el('a', { href: url, download: 'tasks-backup-codes.txt' });
  document.body.append(link);
  link.click();
  link.remove();
  // Late enough for the download to have read it.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// After a change the server made: the user again (with the new state),
// the panel closed, the focus on its heading.
async function twoFactorChanged(message) {
  closeTwoFactorPanel();
  await loadAccount();
  say(message);
  $('#two-factor-heading').focus();
}

// ---- Other accounts (OAuth 2.0 / OpenID Connect) ----

// The providers the server offers, [{ id, name }]: none when it offers
// none or cannot say.
let providers = [];

const providerName = (id) => providers.find((provider) => provider.id === id)?.name || id;

// A provider's round trip ends back here, with `#code=` or `#error=`.
const oauthPath = (id, action) => {
  const here = location.href.split('#')[0];
  return `/api/auth/oauth/${encodeURIComponent(id)}/${action}?redirect_to=${encodeURIComponent(here)}`;
};

const base64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

// Starts a round trip with a fresh PKCE pair: the verifier stays in this
// tab, the server binds the exchange code to its challenge. So a `#code=`
// someone else made, planted in a link to this page, cannot sign this
// browser into their account: the page exchanges only codes it asked for.
async function oauthStart(id, action) {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem('oauth-verifier', verifier);
  return `${oauthPath(id, action)}&code_challenge=${challenge}`;
}

async function loadProviders() {
  const list = await send('GET', '/api/auth/oauth/providers').catch(() => null);
  providers = Array.isArray(list) ? list : [];
  $('#provider-list').replaceChildren(
    ...providers.map(({ id, name }) => {
      const button = el('button', { type: 'button', textContent: `Continue with ${name}` });
      button.addEventListener('click', () => run(async () => location.assign(await oauthStart(id, 'authorize'))));
      return button;
    }),
  );
  $('#oauth-sign-in').hidden = providers.length === 0;
}

const providersLoaded = loadProviders();

function renderLinked(accounts) {
  const linked = new Set(accounts.map((account) => account.provider));
  $('#linked-list').replaceChildren(
    ...accounts.map((account) => {
      const name = providerName(account.provider);
      const since = new Date(account.linked_at).toLocaleDateString(undefined, { dateStyle: 'medium' });
      const unlink = el('button', { type: 'button', textContent: 'Unlink' });
      unlink.setAttribute('aria-label', `Unlink ${name}`);
      unlink.addEventListener('click', () =>
        run(async () => {
          await api('DELETE', `/api/auth/accounts/${encodeURIComponent(account.provider)}`);
          await loadAccount();
          say(`${name} is unlinked.`);
          $('#linked-heading').focus();
        }),
      );
      const details = `${account.email ? ` (${account.email})` : ''}, linked ${since} `;
      return el('li', {}, el('strong', { textContent: name }), details, unlink);
    }),
  );
  const unlinked = providers.filter(({ id }) => !linked.has(id));
  $('#link-buttons').hidden = unlinked.length === 0;
  $('#link-buttons').replaceChildren(
    ...unlinked.map(({ id, name }) => {
      const button = el('button', { type: 'button', textContent: `Link ${name}` });
      button.addEventListener('click', () =>
        run(async () => {
          const { authorize_url: url } = await api('POST', await oauthStart(id, 'link'));
          location.assign(url);
        }),
      );
      return button;
    }),
  );
  $('#no-linked').hidden = accounts.length > 0;
  $('#linked-accounts').hidden = providers.length === 0 && accounts.length === 0;
}

const OAUTH_ERRORS = {
  invalid_state: 'That sign-in expired or was started in another window. Please try again.',
  provider_error: 'The provider did not sign you in (the request may have been cancelled). Please try again.',
  provider_unavailable: 'The provider cannot be reached right now. Please try again later.',
  invalid_id_token: 'The provider’s answer could not be verified, so you are not signed in. Please try again.',
  account_exists:
    'An account with this email address already exists. Sign in with your password first, ' +
    'then link the provider from your account page.',
};

// Back from a provider with `#error=`; `linking` when a user was signed in
// (the round trip was a link).
function oauthFailed(code, linking) {
  show(linking ? 'account' : 'sign-in');
  let message = OAUTH_ERRORS[code] || 'Signing in with that provider did not work. Please try again.';
  if (linking && code === 'account_exists') {
    message = 'That account cannot be linked: it belongs to another user here, or you linked a different one from the same provider.';
  }
  say(message, true);
}

// Back from a provider with `#code=`: a sign-in, or the end of a link
// (which signs the same user in again).
async function oauthSignIn(code, restored) {
  const before = restored ? auth : null;
  const verifier = sessionStorage.getItem('oauth-verifier');
  sessionStorage.removeItem('oauth-verifier');
  if (!verifier) {
    show(restored ? 'tasks' : 'sign-in');
    return say('That sign-in was not started from this page, so it was not used. Sign in again here if you meant to.', true);
  }
  let answer;
  try {
    answer = await send('POST', '/api/auth/oauth/exchange', { body: { code, code_verifier: verifier }, cookie: true });
  } catch (error) {
    show(restored ? 'tasks' : 'sign-in');
    if (error.code !== 'invalid_token') return fail(error);
    return say('That sign-in has expired or was used already. Please try again.', true);
  }
  await signIn(answer, async ({ user }) => {
    // The round trip opened a session of its own: end the one this tab had
    // (without the cookie header, which would clear the new session's cookie).
    if (before) await send('POST', '/api/auth/sign-out', { token: before.token }).catch(() => {});
    if (before?.user.id === user.id) return show('account', 'Account linked: you can sign in with it from now on.');
    show('tasks', `Signed in as ${user.email}.`);
  });
}

// ---- Wiring ----

// Runs an action, showing its error (if any) in the status region.
async function run(action) {
  try {
    await action();
  } catch (error) {
    // A session that ended has shown its message already.
    if (!error.handled) fail(error);
  }
}

function onSubmit(id, action) {
  const form = $(id);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    const button = form.querySelector('[type=submit]');
    button.disabled = true;
    run(() => action(values, form)).finally(() => {
      button.disabled = false;
    });
  });
}

// The address whose verification link the "check your inbox" view offers
// to send again.
let unverifiedEmail = null;

function checkInbox(email, message) {
  unverifiedEmail = email;
  $('#check-inbox-email').textContent = email;
  show('check-inbox', message);
}

const showTasks = () => show('tasks', 'Signed in.');

const passkeys = setUpPasskeys({
  send,
  api,
  run,
  say,
  el,
  signIn,
  signedInView: (message) => show('tasks', message),
});

const apiKeys = setUpApiKeys({ api, run, say, el });

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
  if (auth) signedOut();
  show('sign-in', 'Password changed. Sign in with your new password.');
});

onSubmit('#new-task-form', async ({ title, description }, form) => {
  await api('POST', tasksPath(), { title, ...(description ? { description } : {}) });
  form.reset();
  await loadTasks();
  say(`“${title.trim()}” added.`);
  $('#new-title').focus();
});

onSubmit('#password-form', async ({ current, new: fresh }, form) => {
  await api('POST', '/api/auth/change-password', { current_password: current, new_password: fresh });
  form.reset();
  await loadAccount();
  say('Password changed. Your other sessions were signed out.');
});

$('#two-factor-setup').addEventListener('click', () => askToConfirm('setup'));
$('#two-factor-disable').addEventListener('click', () => askToConfirm('disable'));
$('#two-factor-regenerate').addEventListener('click', () => askToConfirm('regenerate'));

onSubmit('#two-factor-confirm-form', async ({ password }, form) => {
  try {
    await TWO_FACTOR_ACTIONS[confirming].run(password === undefined ? {} : { password });
  } catch (error) {
    if (error.code === 'wrong_password') form.querySelector('input').select();
    throw error;
  }
});

onSubmit('#two-factor-enable-form', async ({ code }, form) => {
  try {
    await api('POST', '/api/auth/two-factor/enable', { code: code.replace(/\s/g, '') });
  } catch (error) {
    if (error.code === 'invalid_code') form.querySelector('input').select();
    throw error;
  }
  // The server signs the user's other sessions out: they were opened
  // without the second factor.
  await twoFactorChanged(
    'Two-factor authentication is on: signing in now asks for a code from your app. ' +
      'Your other sessions were signed out.',
  );
});

$('#backup-codes-download').addEventListener('click', downloadBackupCodes);

for (const button of [...document.querySelectorAll('.two-factor-cancel'), $('#backup-codes-done')]) {
  button.addEventListener('click', () => {
    closeTwoFactorPanel();
    say('');
    $('#two-factor-heading').focus();
  });
}

for (const select of ['status', 'sort']) {
  $(`#filter-${select}`).addEventListener('change', (event) => {
    tasksQuery = { ...tasksQuery, [select]: event.target.value };
    run(loadTasks);
  });
}

for (const button of document.querySelectorAll('[data-go]')) {
  button.addEventListener('click', () => {
    const target = button.dataset.go;
    run(async () => show(target === 'home' ? (auth ? 'tasks' : 'sign-in') : target));
  });
}

$('#send-verification').addEventListener('click', () =>
  run(async () => {
    await api('POST', '/api/auth/send-verification-email');
    say('A verification link is on its way to your inbox.');
  }),
);

async function endSession(method, path, message) {
  // A refresh in flight would otherwise sign this tab back in afterwards.
  await refreshing?.catch(() => {});
  if (!auth) return signedOut(message);
  try {
    await send(method, path, { token: auth.token, cookie: true });
  } catch (error) {
    // An expired token may still end the session once refreshed; anything
    // else (already revoked) leaves nothing to end.
    if (error.code === 'token_expired' && (await refresh())) {
      await send(method, path, { token: auth.token, cookie: true });
    }
  }
  signedOut(message);
}

$('#sign-out').addEventListener('click', () => run(() => endSession('POST', '/api/auth/sign-out', 'Signed out.')));
$('#sign-out-everywhere').addEventListener('click', () =>
  run(() => endSession('DELETE', '/api/auth/sessions', 'Signed out on every device.')),
);

// ---- Start ----

async function start() {
  // The links in messages carry their token in the fragment; take it and
  // drop it from the address bar and the history.
  // So do the ends of a provider's round trip, `#code=` or `#error=`.
  const fragment = new URLSearchParams(location.hash.slice(1));
  const [token, code, oauthError] = ['token', 'code', 'error'].map((name) => fragment.get(name));
  const path = location.pathname;
  if (token || code || oauthError) history.replaceState(null, '', path);
  const restored = await refresh().catch(() => false);
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
      if (auth) auth.user = user;
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
