/** The GraphQL schema (SDL). A module rather than a file so compiled builds need no asset copying. */
export const SCHEMA = /* GraphQL */ `
  """
  Any JSON value: the event's payload exactly as the client sent it.
  """
  scalar JSON

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
