// Two-factor authentication on the account panel: set up (with the QR
// code, the key and the backup codes), turn on, new backup codes, turn
// off. The key and the codes live in this module's memory and on screen
// only while their step is open; no storage ever holds them.

import { $, el, say, run, onSubmit } from './messages.js';
import { api, current } from './session.js';
import { loadAccount } from './account.js';

// What the panel shows besides its buttons: null, or 'confirm', 'enrol'
// or 'codes' while a step is open.
let twoFactorStep = null;
// The step the confirm form is for: a key of TWO_FACTOR_ACTIONS.
let confirming = null;
// The backup codes on screen, for the download.
let shownCodes = [];

export function renderTwoFactor() {
  const on = current().user.two_factor_enabled;
  // A server without two-factor says nothing about it.
  $('#two-factor').hidden = typeof on !== 'boolean';
  // The server sets it up for verified addresses only: whoever holds an
  // unverified address could take the account over by email sign-in.
  const verified = current().user.email_verified !== false;
  $('#two-factor-state').textContent = on
    ? 'On: signing in asks for a code from your authenticator app (or a backup code).'
    : `Off: signing in takes one step.${verified ? '' : ' To set it up, verify your email address first.'}`;
  $('#two-factor-actions').hidden = twoFactorStep !== null;
  $('#two-factor-setup').hidden = on || !verified;
  $('#two-factor-disable').hidden = !on;
  $('#two-factor-regenerate').hidden = !on;
}

// Closes any open step and wipes the secret and codes it showed.
export function closeTwoFactorPanel() {
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
  if (current()) renderTwoFactor();
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
      $('#backup-codes-heading').focus();
      say('New backup codes are ready. The old ones no longer work.');
    },
  },
};

function askToConfirm(action) {
  const hasPassword = current().user.has_password !== false;
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
  // The step starts with the picture and the key, before its one field.
  $('#two-factor-enrol-heading').focus();
  say('Two-factor authentication is not on yet: add it to your app, save your backup codes, then enter a code.');
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
    `Account: ${current().user.email}`,
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
  // The focus first: the message goes beside it.
  $('#two-factor-heading').focus();
  say(message);
}

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
