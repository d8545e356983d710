/** Names shared by the bridge (which starts workflows) and the workers (which run them). */
export const WORKFLOW_TYPE = 'processEvent';

/** Registered on the namespace by the local stack (temporal-config/search-attributes.env). */
export const SEARCH_ATTRIBUTES = { eventType: 'EventType', userId: 'UserId' } as const;
