// API keys on the demo page: the account panel's list, "Create API key"
// and delete.
//
// A new key comes back from the server this once: the page shows it in a
// read-only field with a Copy button until the user closes the box or
// leaves the account view, and keeps it nowhere else (not in storage, not
// in the list, not after a reload).
//
// The section stays hidden when the server has no API keys (its routes
// answer 404).

const $ = (selector) => document.querySelector(selector);

const EXPIRY_RULE = 'The expiry is a whole number of days from 1 to 365, or empty for a key that never expires.';

// The server's refusals of a new key, in words.
const CREATE_REFUSALS = {
  invalid_name:
    'An API key needs a name of 1 to 64 characters, on one line, for example “Backup script”. ' +
    'Choose another one.',
  invalid_expiry: EXPIRY_RULE,
  too_many_api_keys: 'Your account has as many API keys as it can have. Delete one you no longer use, then create this one.',
};

// `page` is what app.js lends this module: `api`, `run`, `say` and `el`.
export function setUpApiKeys(page) {
  const { api, run, say, el } = page;

  // Whether the server has API keys: false once their route said 404.
  let on = true;
  // The key on screen, { id, name }, while the new key box is open.
  let shown = null;

  // The list for the panel: null when the server has no API keys.
  async function load() {
    if (!on) return null;
    try {
      return await api('GET', '/api/auth/api-keys');
    } catch (error) {
      if (error.status !== 404) throw error;
      on = false;
      return null;
    }
  }

  const when = (stamp) => new Date(stamp).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  function expiry(key) {
    if (!key.expires_at) return 'never expires';
    return Date.parse(key.expires_at) <= Date.now() ? `expired ${when(key.expires_at)}` : `expires ${when(key.expires_at)}`;
  }

  function renderList(keys) {
    $('#api-keys').hidden = keys === null;
    if (keys === null) return;
    $('#api-key-list').replaceChildren(
      ...keys.map((key) => {
        const remove = el('button', { type: 'button', textContent: 'Delete' });
        remove.setAttribute('aria-label', `Delete the API key “${key.name}”`);
        remove.addEventListener('click', once(() => removeKey(key)));
        const used = key.last_used_at ? `last used ${when(key.last_used_at)}` : 'never used';
        return el(
          'li',
          {},
          el(
            'p',
            {},
            el('strong', { textContent: key.name }),
            ' ',
            // The start of the key, for telling keys apart; never the secret.
            el('code', { textContent: `${key.prefix}…`, title: 'The start of the key' }),
            el('span', { className: 'hint', textContent: ` Created ${when(key.created_at)}, ${expiry(key)}, ${used}.` }),
          ),
          remove,
        );
      }),
    );
    $('#no-api-keys').hidden = keys.length > 0;
  }

  // Closes the new key box and forgets the key.
  function closeKey() {
    shown = null;
    $('#api-key-value').value = '';
    $('#api-key-copy-status').textContent = '';
    $('#api-key-new').hidden = true;
  }

  function showKey(key) {
    shown = { id: key.id, name: key.name };
    $('#api-key-new-heading').textContent = `Your new API key “${key.name}”`;
    $('#api-key-value').value = key.key;
    $('#api-key-copy-status').textContent = '';
    $('#api-key-new').hidden = false;
  }

  async function refreshPanel(message, focus) {
    renderList(await load());
    $(focus).focus();
    say(message);
  }

  // One request at a time: presses while one is on its way are ignored
  // (not by disabling the button, which would drop the keyboard focus).
  let busy = false;
  const once = (work) => () => {
    if (busy) return;
    busy = true;
    run(work).finally(() => {
      busy = false;
    });
  };

  async function removeKey(key) {
    try {
      await api('DELETE', `/api/auth/api-keys/${encodeURIComponent(key.id)}`);
    } catch (error) {
      // Deleted meanwhile (in another tab, say): the list catches up.
      if (error.status !== 404) throw error;
      if (shown?.id === key.id) closeKey();
      return refreshPanel(`“${key.name}” was deleted already.`, '#api-keys-heading');
    }
    if (shown?.id === key.id) closeKey();
    await refreshPanel(`The API key “${key.name}” is deleted: it no longer works anywhere.`, '#api-keys-heading');
  }

  const form = $('#api-key-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    once(async () => {
      say('');
      // The server trims the name and judges it; the browser has checked
      // the expiry field's range already.
      const name = form.elements.name.value;
      const days = form.elements.expires_in_days.value.trim();
      let key;
      try {
        key = await api('POST', '/api/auth/api-keys', { name, ...(days ? { expires_in_days: Number(days) } : {}) });
      } catch (error) {
        const field = error.code === 'invalid_name' ? form.elements.name : form.elements.expires_in_days;
        const refused = error.status === 400 || error.status === 422;
        // A 400 with an expiry: not a whole number (the field's own check
        // says so first, where the browser has it).
        const message = CREATE_REFUSALS[error.code] || (error.status === 400 && days ? EXPIRY_RULE : null);
        if (!message) throw error;
        if (refused) {
          field.focus();
          field.select();
        }
        return say(message, true);
      }
      form.reset();
      showKey(key);
      await refreshPanel(`API key “${key.name}” created. Copy it now: it will not be shown again.`, '#api-key-value');
      $('#api-key-value').select();
    })();
  });

  // The clipboard, or else the key selected for the user's own Ctrl+C.
  $('#api-key-copy').addEventListener('click', async () => {
    const field = $('#api-key-value');
    const status = $('#api-key-copy-status');
    status.textContent = '';
    try {
      await navigator.clipboard.writeText(field.value);
      status.textContent = 'Copied.';
    } catch {
      field.focus();
      field.select();
      status.textContent = 'This browser did not let the page copy it. The key is selected: press Ctrl+C (⌘C on a Mac) to copy it.';
    }
  });

  $('#api-key-done').addEventListener('click', () => {
    closeKey();
    say('');
    $('#api-keys-heading').focus();
  });

  return {
    load,
    renderList,
    // Leaving the panel forgets the key on screen and what was typed.
    reset() {
      closeKey();
      form.reset();
    },
  };
}
