/** The GraphQL schema (SDL). A module rather than a file so compiled builds need no asset copying. */
export const SCHEMA = /* GraphQL */ `
  """
  Any JSON value: the event's payload exactly as the client sent it.
  """
  scalar JSON

  """
  An instant in ISO-8601 with a zone, such as 2026-11-26T10:00:00Z or 2026-11-26T11:00:00+01:00.
  Returned in UTC.
  """
  scalar DateTime

  enum CountInterval {
    MINUTE
    HOUR
    DAY
  }

  type BucketCount {
    "Start of the bucket (UTC); the bucket runs until the next one starts."
    start: DateTime!
    "Stored events whose timestamp falls in the bucket. A whole number (Float because GraphQL's Int stops at 2^31)."
    count: Float!
  }

  type Event {
    eventId: ID!
    eventType: String!
    userId: String!
    "When it happened, ISO-8601 UTC."
    timestamp: String!
    "When the producer received it, ISO-8601 UTC."
    receivedAt: String!
    payload: JSON
    """
    Opaque position of this event in time order. Pass the cursor of the last event of a page as
    \`after\` to get the next (older) page.
    """
    cursor: String!
  }

  type Query {
    "The newest events, newest first."
    latestEvents(limit: Int, after: String): [Event!]!
    "Events of one type, newest first."
    eventsByType(eventType: String!, limit: Int, after: String): [Event!]!
    "Events of one user, newest first."
    eventsByUser(userId: String!, limit: Int, after: String): [Event!]!
    "One event by its id, or null."
    event(eventId: ID!): Event
    """
    Stored events per bucket of \`interval\` (UTC), for every bucket that overlaps [from, to), oldest
    first, empty buckets included as 0; at most 2000 buckets. Filters optional; given together,
    both must match. Each stored event counts once, however often it was delivered, replayed or
    posted again. Counts follow storage by about a second.
    """
    eventCounts(eventType: String, userId: String, from: DateTime!, to: DateTime!, interval: CountInterval = HOUR): [BucketCount!]!
  }

  type Subscription {
    """
    Each event once, as soon as it is stored (and so readable by the queries), from the moment
    of subscribing: no history. Both filters optional; given together, both must match. Over
    WebSocket (graphql-ws protocol) at /graphql.
    """
    eventStored(eventType: String, userId: String): Event!
  }
`;
