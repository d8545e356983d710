/**
 * Live events for `subscription { eventStored }` within one GraphQL process: stored events come
 * in (from the stored topic, src/graphql/storedConsumer.ts), each goes once to every subscriber
 * whose filter it matches.
 *
 * - Once: the topic is written at least once per event (a retried storeHot announces again), so
 *   event ids seen recently are remembered (a bounded set, oldest forgotten first) and repeats
 *   dropped before any subscriber sees them.
 * - Filtered here, before queueing: a subscriber's queue holds only events it will be sent.
 * - Bounded: each subscriber has a queue of at most `queueSize` events. One that does not keep
 *   up (its socket does not drain) is cut off when the queue is full, with a reason, rather
 *   than letting the process's memory grow with its backlog.
 * - Capped: at most `maxPerPrincipal` open subscriptions per read key (per client address when
 *   the API has no keys).
 */
import type { EventRecord } from '../store/hot/reader';

export interface LiveFilter {
  eventType?: string;
  userId?: string;
}

export interface LiveFeedOptions {
  /** Events waiting for one subscriber before it is cut off (GRAPHQL_SUBSCRIPTION_QUEUE). */
  queueSize: number;
  /** Open subscriptions per principal (GRAPHQL_MAX_SUBSCRIPTIONS_PER_KEY). */
  maxPerPrincipal: number;
  /** Event ids remembered for de-duplication. */
  recentIds?: number;
  /** Told of every stored event received (new or a repeat) and every cut-off, for metrics. */
  observer?: LiveFeedObserver;
}

export interface LiveFeedObserver {
  received(outcome: 'new' | 'repeat'): void;
  cutOff(): void;
}

/** Why a subscriber was cut off; its message is what the client is told. */
export class SlowSubscriberError extends Error {
  override name = 'SlowSubscriberError';
  constructor(readonly queueSize: number) {
    super(`slow subscriber: ${queueSize} events were waiting to be sent; read faster or narrow the filter`);
  }
}

export class TooManySubscriptionsError extends Error {
  override name = 'TooManySubscriptionsError';
  constructor(
    readonly max: number,
    readonly per: 'key' | 'client address',
  ) {
    super(`too many subscriptions: at most ${max} open at once per ${per}; close one first`);
  }
}

/** A bounded set of recent ids: insertion order is age, the oldest is forgotten first. */
export class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity: number) {}
  /** True when `id` is new (and now remembered); false when it was seen recently. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
    return true;
  }
  get size(): number {
    return this.ids.size;
  }
}

export interface LiveSubscription extends AsyncIterableIterator<EventRecord> {
  /** Stops the subscription and frees its slot (also what `return()` does). */
  close(): void;
}

interface Subscriber {
  filter: LiveFilter;
  queue: EventRecord[];
  waiting?: { resolve: (r: IteratorResult<EventRecord>) => void; reject: (err: unknown) => void };
  failed?: Error;
  done: boolean;
  onCutOff?: (err: SlowSubscriberError) => void;
  end(): void;
}

export const matches = (filter: LiveFilter, event: Pick<EventRecord, 'eventType' | 'userId'>): boolean =>
  (filter.eventType === undefined || filter.eventType === event.eventType) && (filter.userId === undefined || filter.userId === event.userId);

export interface LiveFeed {
  /** Hands a stored event to the matching subscribers; false when it was a repeat and dropped. */
  publish(event: EventRecord): boolean;
  /**
   * Remembers a stored event's id while nobody is subscribed, so its record need not be parsed,
   * and a repeat that comes once someone is still counts as one and is dropped.
   */
  seen(eventId: string): void;
  /**
   * A new subscription for `principal` (`key:<id>` or `ip:<address>`), or TooManySubscriptionsError.
   * `onCutOff` runs when the subscriber is cut off for being slow (to close its connection).
   */
  subscribe(principal: string, filter: LiveFilter, onCutOff?: (err: SlowSubscriberError) => void): LiveSubscription;
  /** Open subscriptions, in total or of one principal. */
  count(principal?: string): number;
  /** Ends every subscription (shutdown). */
  closeAll(): void;
}

export function createLiveFeed(options: LiveFeedOptions): LiveFeed {
  const subscribers = new Set<Subscriber>();
  const perPrincipal = new Map<string, number>();
  const recent = new RecentIds(options.recentIds ?? 100_000);

  const cutOff = (sub: Subscriber) => {
    const err = new SlowSubscriberError(options.queueSize);
    sub.queue.length = 0;
    sub.failed = err;
    sub.end();
    options.observer?.cutOff();
    sub.onCutOff?.(err);
  };

  return {
    publish(event) {
      const isNew = recent.add(event.eventId);
      options.observer?.received(isNew ? 'new' : 'repeat');
      if (!isNew) return false;
      for (const sub of subscribers) {
        if (!matches(sub.filter, event)) continue;
        if (sub.waiting) {
          const { resolve } = sub.waiting;
          sub.waiting = undefined;
          resolve({ value: event, done: false });
        } else if (sub.queue.length >= options.queueSize) {
          cutOff(sub);
        } else {
          sub.queue.push(event);
        }
      }
      return true;
    },

    seen(eventId) {
      options.observer?.received(recent.add(eventId) ? 'new' : 'repeat');
    },

    subscribe(principal, filter, onCutOff) {
      const open = perPrincipal.get(principal) ?? 0;
      if (open >= options.maxPerPrincipal)
        throw new TooManySubscriptionsError(options.maxPerPrincipal, principal.startsWith('key:') ? 'key' : 'client address');
      perPrincipal.set(principal, open + 1);
      const sub: Subscriber = {
        filter,
        queue: [],
        done: false,
        onCutOff,
        end() {
          if (sub.done) return;
          sub.done = true;
          subscribers.delete(sub);
          const left = (perPrincipal.get(principal) ?? 1) - 1;
          if (left > 0) perPrincipal.set(principal, left);
          else perPrincipal.delete(principal);
          const waiting = sub.waiting;
          sub.waiting = undefined;
          if (waiting) {
            if (sub.failed) waiting.reject(sub.failed);
            else waiting.resolve({ value: undefined, done: true });
          }
        },
      };
      subscribers.add(sub);
      const iterator: LiveSubscription = {
        next() {
          const value = sub.queue.shift();
          if (value !== undefined) return Promise.resolve({ value, done: false });
          if (sub.failed) {
            const err = sub.failed;
            sub.failed = undefined; // reported once; then the iterator is simply done
            return Promise.reject(err);
          }
          if (sub.done) return Promise.resolve({ value: undefined, done: true });
          return new Promise((resolve, reject) => (sub.waiting = { resolve, reject }));
        },
        return() {
          sub.failed = undefined;
          sub.end();
          return Promise.resolve({ value: undefined, done: true });
        },
        close() {
          void iterator.return!();
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },

    count(principal) {
      return principal === undefined ? subscribers.size : (perPrincipal.get(principal) ?? 0);
    },

    closeAll() {
      for (const sub of [...subscribers]) sub.end();
    },
  };
}
