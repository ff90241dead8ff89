// Passkeys (WebAuthn) on the demo page: "Sign in with a passkey" on the
// sign-in view, and the account panel's list, "Add a passkey" and delete.
//
// The server speaks WebAuthn Level 3's JSON: the page turns its options
// into what `navigator.credentials` takes with
// `PublicKeyCredential.parse…OptionsFromJSON` and the answer back with
// `credential.toJSON()`, or, in a browser without them, with the small
// base64url conversion below. Nothing here is stored: a challenge lives
// in memory until its one use.
//
// The feature stays hidden when the browser has no WebAuthn, and when the
// server has no passkeys (its routes answer 404). WebAuthn refuses an IP
// address as the site a passkey belongs to: a page opened at
// http://127.0.0.1:PORT points to the same server at localhost instead.

const OPTIONS_FRESH_MS = 4 * 60 * 1000; // the server's challenges live 5 min

const $ = (selector) => document.querySelector(selector);

// ---- WebAuthn's JSON, with a fallback for browsers without it ----

const toBase64url = (buffer) => {
  let text = '';
  for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

const fromBase64url = (text) => {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (char) => char.charCodeAt(0)).buffer;
};

const credentialIds = (list) => (list || []).map((descriptor) => ({ ...descriptor, id: fromBase64url(descriptor.id) }));

// The server's options, `{ publicKey: … }` or the dictionary itself.
const unwrap = (options) => options?.publicKey ?? options;

function creationOptions(json) {
  if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: credentialIds(json.excludeCredentials),
  };
}

function requestOptions(json) {
  if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  return { ...json, challenge: fromBase64url(json.challenge), allowCredentials: credentialIds(json.allowCredentials) };
}

function credentialJSON(credential) {
  if (typeof credential.toJSON === 'function') return credential.toJSON();
  const { response } = credential;
  const json = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
    clientExtensionResults: credential.getClientExtensionResults(),
    response: { clientDataJSON: toBase64url(response.clientDataJSON) },
  };
  if (response.attestationObject) {
    json.response.attestationObject = toBase64url(response.attestationObject);
    json.response.transports = response.getTransports?.() ?? [];
  } else {
    json.response.authenticatorData = toBase64url(response.authenticatorData);
    json.response.signature = toBase64url(response.signature);
    json.response.userHandle = response.userHandle ? toBase64url(response.userHandle) : undefined;
  }
  return json;
}

// ---- Where passkeys work ----

const supported = typeof window.PublicKeyCredential === 'function' && Boolean(navigator.credentials);

// An IP address cannot be a passkey's site. For a loopback address the
// server takes `localhost` (same port): the URL to offer instead.
function elsewhere() {
  const { hostname } = location;
  const ip = /^[\d.]+$/.test(hostname) || hostname.startsWith('[');
  if (!ip) return null;
  if (!/^127\./.test(hostname) && hostname !== '[::1]') return false;
  const url = new URL(location.href);
  url.hostname = 'localhost';
  url.pathname = '/';
  url.search = '';
  url.hash = '';
  return url;
}

// The failure of a browser ceremony, in words.
function ceremonyMessage(error, adding) {
  switch (error?.name) {
    case 'NotAllowedError':
    case 'AbortError':
      return adding
        ? 'No passkey was added: the request was cancelled or timed out, or your device did not allow it.'
        : 'No passkey was used: the request was cancelled or timed out, or this device has no passkey for this site.';
    case 'InvalidStateError':
      return adding
        ? 'This device already has a passkey for your account: you can sign in with it.'
        : 'The passkey request could not start. Please try again.';
    case 'NotSupportedError':
      return 'This browser or device cannot make the kind of passkey this site needs (one with a screen lock or PIN).';
    case 'SecurityError':
      return 'Passkeys cannot be used at this address of the page.';
    default:
      return null;
  }
}

const isCeremonyError = (error) => error instanceof DOMException;

// The server's refusals of a new passkey, in words.
const ADD_REFUSALS = {
  email_not_verified: 'Passkeys need a verified email address. Verify yours first, then add one.',
  invalid_credential: 'The server did not accept that passkey, so none was added. Please try again.',
  invalid_name: 'A passkey name is at most 64 characters, on one line. Choose another, or leave it empty.',
  too_many_passkeys: 'Your account has as many passkeys as it can have. Delete one you no longer use, then add this one.',
};

// ---- The page's side ----

// `page` is what app.js lends this module: `send`, `api`, `run`, `say`, `el`,
// `signIn` and `signedInView` (shows the tasks after a sign-in).
export function setUpPasskeys(page) {
  const { send, api, run, say, el } = page;
  const where = elsewhere();
  // Whether a ceremony can run on this page at all.
  const usable = supported && where === null;

  // Whether the server has passkeys: false once one of its routes said 404.
  let on = true;
  // The server's answer to sign-in options, asked for once when the
  // sign-in view first shows (a 404 says the server has no passkeys) and
  // kept for the first press: one round trip less between the press and
  // the browser's dialog.
  let ready = null; // { answer, at }
  let probed = null;
  const probe = () =>
    (probed ??= send('POST', '/api/auth/passkeys/sign-in/options', { body: {} }).then(
      (answer) => {
        ready = { answer, at: Date.now() };
      },
      (error) => {
        if (error.status === 404) on = false;
      },
    ));

  async function signInOptions() {
    const kept = ready;
    ready = null;
    if (kept && Date.now() - kept.at < OPTIONS_FRESH_MS) return kept.answer;
    return send('POST', '/api/auth/passkeys/sign-in/options', { body: {} });
  }

  function renderSignIn() {
    const offerLink = on && supported && where instanceof URL;
    $('#passkey-sign-in').hidden = !(on && (usable || offerLink));
    $('#passkey-sign-in-button').parentElement.hidden = !usable;
    $('#passkey-elsewhere').hidden = !offerLink;
    if (offerLink) {
      const link = $('#passkey-elsewhere-link');
      link.href = where.href;
      link.textContent = where.href;
    }
  }

  // One ceremony at a time: presses while one is on its way are ignored
  // (not by disabling the button, which would drop the keyboard focus).
  let busy = false;
  const once = (work) => () => {
    if (busy) return;
    busy = true;
    run(work).finally(() => {
      busy = false;
    });
  };

  $('#passkey-sign-in-button').addEventListener(
    'click',
    once(async () => {
      say('');
      let options;
      let challengeId;
      try {
        ({ challenge_id: challengeId, options } = await signInOptions());
      } catch (error) {
        if (error.status !== 404) throw error;
        on = false;
        renderSignIn();
        return say('This server no longer offers passkeys. Sign in another way.', true);
      }
      let credential;
      try {
        credential = await navigator.credentials.get({ publicKey: requestOptions(unwrap(options)) });
      } catch (error) {
        if (!isCeremonyError(error)) throw error;
        return say(ceremonyMessage(error, false) || `The passkey did not work (${error.name}). Please try again.`, true);
      }
      let answer;
      try {
        const body = { challenge_id: challengeId, credential: credentialJSON(credential) };
        answer = await send('POST', '/api/auth/passkeys/sign-in', { body, cookie: true });
      } catch (error) {
        if (error.code !== 'invalid_credential') throw error;
        return say(
          'That passkey did not sign you in: it is not (or no longer) a passkey of an account here. ' +
            'Sign in another way, for example with your password.',
          true,
        );
      }
      await page.signIn(answer, () => page.signedInView('Signed in with your passkey.'));
    }),
  );

  // ---- The account panel ----

  let user = null;

  // The list for the panel: null when the server has no passkeys.
  async function load() {
    if (!on) return null;
    try {
      return await api('GET', '/api/auth/passkeys');
    } catch (error) {
      if (error.status !== 404) throw error;
      on = false;
      renderSignIn();
      return null;
    }
  }

  const when = (stamp) => new Date(stamp).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  function renderList(passkeys) {
    $('#passkeys').hidden = passkeys === null;
    if (passkeys === null) return;
    $('#passkey-list').replaceChildren(
      ...passkeys.map((passkey) => {
        const remove = el('button', { type: 'button', textContent: 'Delete' });
        remove.setAttribute('aria-label', `Delete the passkey “${passkey.name}”`);
        remove.addEventListener('click', once(() => removePasskey(passkey, remove)));
        const used = passkey.last_used_at ? `last used ${when(passkey.last_used_at)}` : 'not used yet';
        return el(
          'li',
          {},
          el('strong', { textContent: passkey.name }),
          ` – added ${when(passkey.created_at)}, ${used} `,
          remove,
        );
      }),
    );
    $('#no-passkeys').hidden = passkeys.length > 0;
  }

  // Whether this page can add one now, and if not, why.
  function renderAdd() {
    const note = $('#passkey-add-note');
    let why = null;
    if (!supported) why = ['This browser cannot make passkeys.'];
    else if (where instanceof URL) why = ['To add a passkey, open this page at ', el('a', { href: where.href, textContent: where.href }), '.'];
    else if (where === false) why = ['Passkeys cannot be used at an IP address: open this page by its host name.'];
    else if (user?.email_verified === false) why = ['To add a passkey, verify your email address first.'];
    $('#passkey-add-form').hidden = why !== null;
    note.hidden = why === null;
    note.replaceChildren(...(why || []));
  }

  async function refreshPanel(message) {
    renderList(await load());
    $('#passkeys-heading').focus();
    say(message);
  }

  async function removePasskey(passkey, button) {
    try {
      await api('DELETE', `/api/auth/passkeys/${encodeURIComponent(passkey.id)}`);
    } catch (error) {
      if (error.code === 'last_sign_in_method') {
        button.focus();
        return say(
          `“${passkey.name}” is the only way you can sign in, so it cannot be deleted. ` +
            'Set a password first (sign out, then use “Forgot your password?”), or add another passkey.',
          true,
        );
      }
      // Deleted meanwhile (in another tab, say): the list catches up.
      if (error.status === 404) return refreshPanel(`“${passkey.name}” was deleted already.`);
      throw error;
    }
    await refreshPanel(
      `The passkey “${passkey.name}” is deleted: it no longer signs you in. You may also remove it from your device.`,
    );
  }

  const form = $('#passkey-add-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    once(async () => {
      say('');
      const name = form.elements.name.value.trim();
      let passkey;
      try {
        const { challenge_id: challengeId, options } = await api('POST', '/api/auth/passkeys/register/options', {});
        const credential = await navigator.credentials.create({ publicKey: creationOptions(unwrap(options)) });
        const body = { challenge_id: challengeId, credential: credentialJSON(credential), ...(name ? { name } : {}) };
        passkey = await api('POST', '/api/auth/passkeys/register', body);
      } catch (error) {
        const message = isCeremonyError(error)
          ? ceremonyMessage(error, true) || `No passkey was added (${error.name}). Please try again.`
          : ADD_REFUSALS[error.code];
        if (!message) throw error;
        if (error.code === 'invalid_name') form.elements.name.select();
        return say(message, true);
      }
      form.reset();
      await refreshPanel(`Passkey “${passkey.name}” added: next time you can sign in with it, without your password.`);
    })();
  });

  return {
    // The sign-in view is on screen: the button, once the server has said
    // whether it has passkeys (a browser without WebAuthn asks nothing).
    showSignIn() {
      if (supported && on) probe().then(renderSignIn);
      else renderSignIn();
    },
    load,
    renderList,
    // The user on screen changed (signed in, verified, …).
    renderUser(current) {
      user = current;
      renderAdd();
    },
    // Leaving the panel forgets what was typed.
    reset() {
      form.reset();
    },
  };
}
