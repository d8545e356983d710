/**
 * API keys: what a key looks like (WRITE_KEYS, READ_KEYS), where a request carries one, and which
 * kind it is. Write keys may only post events (they end up in web pages and apps, where anyone can
 * read them); read keys may query GraphQL and read /metrics. Each API knows both sets, so a key
 * used on the wrong API is told apart from an unknown one (403 instead of 401; see access.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type KeyKind = 'write' | 'read';

export type RequestHeaders = Record<string, string | string[] | undefined>;

/** Token characters only, so a key fits `Authorization: Bearer` and Basic alike. */
const KEY_FORMAT = /^[A-Za-z0-9._~+/=-]{16,256}$/;
export const KEY_FORMAT_TEXT = '16-256 characters of A-Z a-z 0-9 . _ ~ + / = -';

export const isWellFormedKey = (key: string): boolean => KEY_FORMAT.test(key);

/** True when a key is in both lists: refused at startup, since write keys end up in web pages. */
export const listsShareAKey = (keys: { write: readonly string[]; read: readonly string[] }): boolean => keys.write.some((k) => keys.read.includes(k));

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/**
 * The key a request presents: `Authorization: Bearer <key>`, `Authorization: Basic
 * base64(<key>:)` (the key as user name, as Segment's SDKs send it) or `X-API-Key: <key>`.
 * Authorization wins when both are sent. Undefined when none is there; '' when Authorization
 * holds something else.
 */
export function presentedKey(headers: RequestHeaders): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.trim() !== '') {
    const [scheme = '', credentials = ''] = auth.trim().split(/\s+/, 2);
    if (/^bearer$/i.test(scheme)) return credentials || undefined;
    if (/^basic$/i.test(scheme)) {
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      const user = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
      return user || undefined;
    }
    // Any other scheme, or a bare key without one: something was sent, but not a key in a form we
    // accept. '' matches no key (keys have 16+ characters), so the answer is 401 "invalid".
    return '';
  }
  const header = headers['x-api-key'];
  return typeof header === 'string' && header.trim() !== '' ? header.trim() : undefined;
}

export interface KeyMatch {
  kind: KeyKind;
  /** Stable and not the key: hex SHA-256, for rate-limit buckets. Never log it next to the key. */
  id: string;
}

export interface KeyRing {
  /** True when this kind has at least one key, i.e. its side is protected. */
  protects(kind: KeyKind): boolean;
  /** The kind of a presented key, compared in constant time against every configured key. */
  identify(presented: string): KeyMatch | undefined;
}

export function createKeyRing(keys: { write: readonly string[]; read: readonly string[] }): KeyRing {
  const entries = [
    ...keys.write.map((k) => ({ kind: 'write' as const, digest: digest(k) })),
    ...keys.read.map((k) => ({ kind: 'read' as const, digest: digest(k) })),
  ];
  return {
    protects: (kind) => entries.some((e) => e.kind === kind),
    identify(presented) {
      // Both sides are 32-byte digests, so timingSafeEqual never throws and the time spent does
      // not depend on how much of a key was right; every entry is compared, no early exit.
      const candidate = digest(presented);
      let found: KeyKind | undefined;
      for (const e of entries) {
        if (timingSafeEqual(e.digest, candidate)) found = e.kind;
      }
      return found ? { kind: found, id: candidate.toString('hex') } : undefined;
    },
  };
}
