/** Waits on a condition with a deadline: no fixed sleeps in tests. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 30_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Reads `read()` until `done` holds for what it returned, and resolves with that value. For
 * state that becomes true some time after another condition (scraped metrics, visibility counts
 * and lists, group membership, lag): each gets its own wait instead of being read once right
 * after something else. On the deadline the error shows the last value read.
 */
export async function waitUntil<T>(
  what: string,
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  let last: { value: T } | undefined;
  try {
    const hit = await waitFor(
      what,
      async () => {
        const value = await read();
        last = { value };
        return done(value) && { value };
      },
      options,
    );
    return hit.value;
  } catch (err) {
    if (!last) throw err;
    throw new Error(`${(err as Error).message}; last read: ${describe(last.value)}`, { cause: err });
  }
}

function describe(value: unknown): string {
  try {
    return (JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? String(value)).slice(0, 2_000);
  } catch {
    return String(value);
  }
}
