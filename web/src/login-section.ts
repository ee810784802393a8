/**
 * The sign-in screen: when the station needs its token, the page shows only this, in plain
 * words, instead of a dashboard that cannot load.
 */
import { api, messageOf } from './api.js';
import { $ } from './dom.js';
import { setSignInNeeded } from './header-badge.js';

const PROTECTED = ['dashboard', 'recordings', 'vultr'];

export function showSignIn(): void {
  for (const id of PROTECTED) $(id).hidden = true;
  $('login').hidden = false;
  setSignInNeeded();
  $<HTMLInputElement>('token').focus();
}

export function mountSignIn(): void {
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $<HTMLInputElement>('token').value;
    api('/api/login', { method: 'POST', body: JSON.stringify({ token }) })
      .then(() => location.reload())
      .catch((err: unknown) => {
        $('login-error').textContent =
          err instanceof Error && 'status' in err && err.status === 401
            ? 'That is not the station’s access token. Check STREAMAI_API_TOKEN on the station and try again.'
            : messageOf(err);
      });
  });
}
