// Other accounts (OAuth 2.0 / OpenID Connect): "Continue with …" on the
// sign-in view, the linked accounts on the account panel, and the ends of
// a provider's round trip (`#code=` or `#error=`).

import { $, el, say, fail, run } from './messages.js';
import { api, send, current } from './session.js';
import { loadAccount } from './account.js';
import { show, signIn } from './app.js';

// The providers the server offers, [{ id, name }]: none when it offers
// none or cannot say.
export let providers = [];

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

export const providersLoaded = loadProviders();

export function renderLinked(accounts) {
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
          $('#linked-heading').focus();
          say(`${name} is unlinked.`);
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
export function oauthFailed(code, linking) {
  show(linking ? 'account' : 'sign-in');
  let message = OAUTH_ERRORS[code] || 'Signing in with that provider did not work. Please try again.';
  if (linking && code === 'account_exists') {
    message = 'That account cannot be linked: it belongs to another user here, or you linked a different one from the same provider.';
  }
  say(message, true);
}

// Back from a provider with `#code=`: a sign-in, or the end of a link
// (which signs the same user in again).
export async function oauthSignIn(code, restored) {
  const before = restored ? current() : null;
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
