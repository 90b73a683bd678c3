/**
 * User info (a user name and password) taken out of URLs before any text
 * leaves the process: a store's error, a reason in `cluster.status`, a log
 * line. `scheme://user:password@host` becomes `scheme://***@host`; the
 * user name goes too (it is half a credential, and PostgreSQL connection
 * strings often carry it next to a password).
 */

/** `scheme://user[:password]@` — the user info of every URL in `text`. */
const USER_INFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@'"<>]*@/gi;

/** `text` with the user info of every URL in it replaced by `***`. */
export function redactUrls(text: string): string {
  return text.replace(USER_INFO, '$1***@');
}

/** Whether a URL carries a user name or password. */
export function hasUserInfo(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(url);
  }
}

/** Whether a URL carries a password (a user name alone is no secret: PostgreSQL connection strings name their role). */
export function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '' || new URL(url).searchParams.has('password');
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\/[^/?#@]*:[^/?#@]*@/i.test(url);
  }
}
