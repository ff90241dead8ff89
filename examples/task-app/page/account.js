// The account panel: the user's details, the password, the sessions
// (each named by its device, address and dates), and "sign out
// everywhere" behind an inline confirmation. Two-factor, passkeys, API
// keys and linked accounts render into it from their own modules.

import { $, el, say, run, onSubmit } from './messages.js';
import { api, current, endSession, tellOtherTabs } from './session.js';
import { providers, providersLoaded, renderLinked } from './oauth.js';
import { passkeys, apiKeys, renderUser } from './app.js';

// ---- Devices ----

// Order matters: Edge and Opera name Chrome too, Chrome names Safari.
const BROWSERS = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\b(OPR|Opera)\//, 'Opera'],
  [/\b(Firefox|FxiOS)\//, 'Firefox'],
  // HeadlessChrome too (an automated Chrome).
  [/(Chrome|Chromium|CriOS)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
];
const SYSTEMS = [
  [/\b(iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

/** "Chrome on Linux" from a `User-Agent`; its start when unknown; "Unknown device" without one. */
export function deviceName(userAgent) {
  if (typeof userAgent !== 'string' || userAgent.trim() === '') return 'Unknown device';
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  if (browser || system) return browser || system;
  // Unknown: quoted, so that it cannot pass for the rest of the line.
  const text = userAgent.trim();
  return `Unknown device “${text.length > 40 ? `${text.slice(0, 40)}…` : text}”`;
}

const when = (time) => (time ? new Date(time).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : null);

// "Chrome on Linux, 127.0.0.1, signed in 7 Dec 2026, 05:00, last active …".
export function sessionLine(session) {
  const parts = [deviceName(session.user_agent)];
  if (session.ip) parts.push(session.ip);
  parts.push(`signed in ${when(session.created_at) ?? 'at an unknown time'}`);
  const active = when(session.last_active_at);
  if (active) parts.push(`last active ${active}`);
  return parts.join(', ') + (session.current ? ' (this browser)' : '');
}

// ---- The panel ----

export async function loadAccount() {
  await providersLoaded;
  const [{ user }, sessions, accounts, keys, apiKeyList] = await Promise.all([
    api('GET', '/api/auth/me'),
    api('GET', '/api/auth/sessions'),
    providers.length ? api('GET', '/api/auth/accounts') : [],
    passkeys.load(),
    apiKeys.load(),
  ]);
  current().user = user;
  renderUser();
  renderLinked(accounts);
  passkeys.renderList(keys);
  apiKeys.renderList(apiKeyList);
  $('#session-list').replaceChildren(...sessions.map(sessionItem));
}

function sessionItem(session) {
  const line = sessionLine(session);
  const item = el('li', {}, el('span', { textContent: line }));
  if (!session.current) {
    const end = el('button', { type: 'button', textContent: 'Sign out' });
    end.setAttribute('aria-label', `Sign out ${line}`);
    end.addEventListener('click', () =>
      run(async () => {
        await api('DELETE', `/api/auth/sessions/${encodeURIComponent(session.id)}`);
        await loadAccount();
        $('#sessions-heading').focus();
        say('That session is signed out.');
      }),
    );
    item.append(end);
  }
  return item;
}

// ---- Sign out everywhere: asked first ----

function askEverywhere(open) {
  $('#everywhere-confirm').hidden = !open;
  $('#sign-out-everywhere').hidden = open;
  (open ? $('#everywhere-warning') : $('#sign-out-everywhere')).focus();
  say('');
}

/** Closes the confirmation (when another view opens). */
export const closeEverywhere = () => {
  $('#everywhere-confirm').hidden = true;
  $('#sign-out-everywhere').hidden = false;
};

$('#sign-out-everywhere').addEventListener('click', () => askEverywhere(true));
$('#everywhere-cancel').addEventListener('click', () => askEverywhere(false));
$('#everywhere-confirm').addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return;
  event.preventDefault();
  askEverywhere(false);
});
$('#everywhere-yes').addEventListener('click', () => run(() => endSession(true)));

// ---- Password and address ----

onSubmit('#password-form', async ({ current: now, new: fresh }, form) => {
  await api('POST', '/api/auth/change-password', { current_password: now, new_password: fresh });
  form.reset();
  tellOtherTabs('password-changed');
  await loadAccount();
  say('Password changed. Your other sessions were signed out.');
});

$('#send-verification').addEventListener('click', () =>
  run(async () => {
    await api('POST', '/api/auth/send-verification-email');
    say('A verification link is on its way to your inbox.');
  }),
);
