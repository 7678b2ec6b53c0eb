/**
 * Where the signed-in secret lives: sessionStorage, so it is gone when the tab is
 * closed and never shared with other tabs. Signing out removes it.
 */
const KEY = 'vkube.console.secret';

export function savedSecret(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: the customer signs in again on reload
  }
}

export function saveSecret(secret: string): void {
  try {
    sessionStorage.setItem(KEY, secret);
  } catch {
    // storage disabled: keep working for this page's lifetime
  }
}

export function forgetSecret(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}
