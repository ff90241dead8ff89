// The session of this tab: HTTP calls, the access token and its refresh,
// signing out, and what the other tabs of this origin hear about it.
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
// One flag in localStorage, `signed-in`, says that this browser holds a
// cookie session: never a token, only whether a refresh on load is worth
// a request. Without it the first load asks nothing and logs no 401.
//
// The tabs share the cookie's session, so a sign-out in one ends it for
// all: a BroadcastChannel tells the others at once, and a password change
// too (the shared session stays; the tabs just say so).

import { ApiError } from './messages.js';

const COOKIE_MODE = { 'X-Refresh-Cookie': '1' };
const HAS_SESSION = 'signed-in';
const SESSION_ENDED = 'Your session has ended. Please sign in again.';

let auth = null; // { token, user, timer }
let refreshing = null;
// What the page does when the session starts and ends: set by app.js.
let hooks = { signedIn() {}, signedOut() {}, notice() {} };

/** The signed-in user's { token, user }, or null. */
export const current = () => auth;

export function setSessionHooks(given) {
  hooks = given;
}

// ---- HTTP ----

export async function send(method, path, { body, token, cookie } = {}) {
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
export async function api(method, path, body) {
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
    signedOut(SESSION_ENDED);
    error.handled = true;
    throw error;
  }
}

function withRefreshLock(work) {
  // Web Locks exist in secure contexts only (https, or http on localhost).
  return navigator.locks ? navigator.locks.request('auth-refresh', work) : work();
}

/** Resolves to true with a fresh access token, false when the cookie no longer holds a valid session. */
export function refresh() {
  refreshing ??= withRefreshLock(async () => {
    try {
      accept(await send('POST', '/api/auth/refresh', { body: {}, cookie: true }));
      return true;
    } catch (error) {
      if (error.status === 401 || error.status === 403) {
        localStorage.removeItem(HAS_SESSION);
        return false;
      }
      throw error;
    }
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** On load: a refresh only when this browser holds a cookie session. */
export const restore = () => (localStorage.getItem(HAS_SESSION) ? refresh() : Promise.resolve(false));

/** Takes a sign-in's (or refresh's) tokens. */
export function accept({ user, access_token: token, expires_in: lifetime }) {
  if (auth) clearTimeout(auth.timer);
  // Shortly before expiry: a fifth of the lifetime early, at most a minute.
  const early = Math.min(60, lifetime / 5);
  const timer = setTimeout(scheduledRefresh, Math.max(1, lifetime - early) * 1000);
  auth = { token, user, timer };
  localStorage.setItem(HAS_SESSION, '1');
  hooks.signedIn();
}

async function scheduledRefresh() {
  try {
    if (!(await refresh())) signedOut(SESSION_ENDED);
  } catch {
    // Offline or a server hiccup: the next call's 401 retries.
  }
}

/** Forgets the session in this tab and shows the signed-out screen with `message`. */
export function signedOut(message) {
  if (auth) clearTimeout(auth.timer);
  auth = null;
  localStorage.removeItem(HAS_SESSION);
  hooks.signedOut(message);
}

// ---- The other tabs ----

const WHY = {
  'sign-out': 'You signed out in another tab.',
  everywhere: 'You signed out on every device from another tab.',
};
const tabs = 'BroadcastChannel' in window ? new BroadcastChannel('auth-session') : null;

/** Tells this origin's other tabs: `sign-out`, `everywhere` or `password-changed`. */
export function tellOtherTabs(event) {
  tabs?.postMessage({ event });
}

tabs?.addEventListener('message', ({ data }) => {
  if (data?.event === 'password-changed') {
    if (auth) hooks.notice('Your password was changed in another tab.');
  } else if (WHY[data?.event]) {
    // The cookie is cleared already: nothing left to end on the server.
    if (auth) signedOut(WHY[data.event]);
  }
});

/** Signs out (`POST /sign-out`, or `DELETE /sessions` for `everywhere`), here and in the other tabs. */
export async function endSession(everywhere) {
  const [method, path, message] = everywhere
    ? ['DELETE', '/api/auth/sessions', 'Signed out on every device.']
    : ['POST', '/api/auth/sign-out', 'Signed out.'];
  // A refresh in flight would otherwise sign this tab back in afterwards.
  await refreshing?.catch(() => {});
  if (auth) {
    try {
      await send(method, path, { token: auth.token, cookie: true });
    } catch (error) {
      // An expired token may still end the session once refreshed; anything
      // else (already revoked) leaves nothing to end.
      if (error.code === 'token_expired' && (await refresh())) {
        await send(method, path, { token: auth.token, cookie: true });
      }
    }
  }
  tellOtherTabs(everywhere ? 'everywhere' : 'sign-out');
  signedOut(message);
}

