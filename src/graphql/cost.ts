/**
 * What a GraphQL request may cost, checked before anything is read from storage.
 *
 * A depth limit alone both blocks GraphiQL (its introspection query is 13 levels deep) and lets
 * through what is actually expensive: many aliased list fields side by side. So a request is
 * checked in two steps, both before execution:
 *
 * 1. Shape, on the parsed document before GraphQL validation (which is itself quadratic in the
 *    number of fields): fields after fragment expansion (GRAPHQL_MAX_FIELDS), aliases
 *    (GRAPHQL_MAX_ALIASES) and depth (GRAPHQL_MAX_DEPTH, set high enough for introspection).
 * 2. Cost, on the operation that runs, with its arguments as its resolvers will get them:
 *    variables coerced as execution coerces them, their defaults and the arguments' defaults
 *    included (GRAPHQL_MAX_COST):
 *    - every field value resolved costs 1, times how many times it is resolved: fields under a
 *      list count once per element (`limit` for the event lists, the schema's largest list of
 *      that kind for introspection lists, such as the number of types);
 *    - every event read from storage costs READ_COST (10) more: `limit` events for eventsByType
 *      and eventsByUser, `limit` × shards for latestEvents (each shard's partition is read for
 *      `limit` events), 1 for event(eventId) and for eventCounts (one Query of small counter
 *      items; its buckets are its list elements, at most 2,000 × 2 fields). A read weighs more than a field: it is I/O and
 *      money, a field is a property copied in memory.
 *
 * With the defaults, GraphiQL's introspection query costs about 50,000 (it is estimated as if
 * every type had the most fields, every field the most arguments: eventCounts has five),
 * latestEvents(limit: 100) with all seven fields about 4,700, a day of minute counts about
 * 2,900, so the default budget of 100,000 lets each through and refuses twenty-two such
 * latestEvents side by side.
 *
 * A subscription (`eventStored`) is checked the same way: its estimate is the cost of one event
 * sent (1 per field, no storage read), so any reasonable selection passes and aliases or
 * oversized documents are refused as for queries.
 *
 * The figures are upper bounds, computed from the document and its variables: fields under
 * @skip or @include count as if they ran. The reader also counts its
 * DynamoDB calls per request (GRAPHQL_MAX_STORAGE_CALLS), the last guard for what the estimate
 * cannot see (1 MB pages of large events).
 */
import {
  getArgumentValues,
  getNamedType,
  getNullableType,
  getOperationAST,
  getVariableValues,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  isEnumType,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import mercurius from 'mercurius';
import { bucketCount, INTERVALS, type Interval } from '../store/counts/buckets';
import { MAX_COUNT_BUCKETS, parseInstant } from './arguments';

/** Cost of one event read from storage, against 1 per field value resolved. */
export const READ_COST = 10;

export interface CostLimits {
  /** Largest estimated cost of one request. */
  maxCost: number;
  /** Most aliased fields in one document. */
  maxAliases: number;
  /** Most fields in one document, fragments expanded. */
  maxFields: number;
  /** Deepest selection nesting, fragments expanded. */
  maxDepth: number;
}

export interface ListArguments {
  defaultLimit: number;
  maxLimit: number;
  /** Partitions latestEvents reads per page (LATEST_INDEX_SHARDS). */
  shards: number;
}

/** A request over a limit: a GraphQL error with a code and the figures, answered with HTTP 400. */
export class QueryTooExpensiveError extends mercurius.ErrorWithProps {
  override name = 'QueryTooExpensiveError';
  constructor(what: string, found: number, limit: number, hint: string) {
    super(`query too expensive: ${what} reaches ${found}, over the limit of ${limit}; ${hint}`, { code: 'QUERY_TOO_EXPENSIVE', limit, what }, 400);
  }
}

type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const map = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) map.set(d.name.value, d);
  return map;
}

/**
 * Step 1: counts fields, aliases and depth of every operation with fragments expanded. Stops at
 * the first limit crossed, so a fragment that expands exponentially costs no more than the limit.
 * A fragment cycle is left to GraphQL validation (NoFragmentCycles), which reports it.
 */
export function checkShape(document: DocumentNode, limits: CostLimits): void {
  const fragments = fragmentsOf(document);
  let fields = 0;
  let aliases = 0;
  const walk = (set: SelectionSetNode, depth: number, path: ReadonlySet<string>): void => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (++fields > limits.maxFields) throw new QueryTooExpensiveError('the number of fields', fields, limits.maxFields, 'ask for fewer fields');
        if (selection.alias && ++aliases > limits.maxAliases) {
          throw new QueryTooExpensiveError('the number of aliases', aliases, limits.maxAliases, 'send fewer aliased fields per request');
        }
        if (selection.selectionSet) {
          if (depth + 1 > limits.maxDepth) throw new QueryTooExpensiveError('the nesting depth', depth + 1, limits.maxDepth, 'nest less');
          walk(selection.selectionSet, depth + 1, path);
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet, depth, path);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (fragment && !path.has(name)) walk(fragment.selectionSet, depth, new Set([...path, name]));
      }
    }
  };
  for (const d of document.definitions) if (d.kind === Kind.OPERATION_DEFINITION) walk(d.selectionSet, 1, new Set());
}

/** How many elements each introspection list can have in this schema (an upper bound per list). */
function introspectionListSizes(schema: GraphQLSchema): Map<string, number> {
  const types = Object.values(schema.getTypeMap());
  const max = (values: number[]) => Math.max(1, ...values);
  const withFields = types.filter((t) => isObjectType(t) || isInterfaceType(t)) as { getFields(): Record<string, GraphQLField<unknown, unknown>> }[];
  const fieldArgs = withFields.flatMap((t) => Object.values(t.getFields()).map((f) => f.args.length));
  return new Map([
    ['__Schema.types', types.length],
    ['__Schema.directives', max([schema.getDirectives().length])],
    ['__Type.fields', max(withFields.map((t) => Object.keys(t.getFields()).length))],
    ['__Type.inputFields', max(types.filter(isInputObjectType).map((t) => Object.keys(t.getFields()).length))],
    ['__Type.interfaces', max(types.filter(isObjectType).map((t) => t.getInterfaces().length))],
    ['__Type.possibleTypes', max(types.filter(isInterfaceType).map((t) => schema.getPossibleTypes(t).length))],
    ['__Type.enumValues', max(types.filter(isEnumType).map((t) => t.getValues().length))],
    ['__Field.args', max(fieldArgs)],
    ['__Directive.args', max(schema.getDirectives().map((d) => d.args.length))],
  ]);
}

/** Step 2, built once per schema: the estimated cost of the operation a request runs. */
export function createCostEstimator(schema: GraphQLSchema, lists: ListArguments) {
  const listSizes = introspectionListSizes(schema);
  const largestList = Math.max(...listSizes.values());

  /** A field's arguments as its resolver gets them; undefined when execution would refuse them. */
  const argumentsOf = (def: GraphQLField<unknown, unknown> | undefined, field: FieldNode, variables: Record<string, unknown>) => {
    if (!def) return undefined;
    try {
      return getArgumentValues(def, field, variables);
    } catch {
      return undefined;
    }
  };

  /** Unknown arguments count as the largest limit. A bad limit is refused by the resolver; the estimate only needs a bound. */
  const limitOf = (args: Record<string, unknown> | undefined): number => {
    if (!args) return lists.maxLimit;
    const value = args.limit;
    return typeof value === 'number' && value >= 1 ? Math.min(value, lists.maxLimit) : lists.defaultLimit;
  };

  /** Buckets eventCounts answers with these arguments; the most it may when they are not valid (the resolver refuses those). */
  const bucketsOf = (args: Record<string, unknown> | undefined): number => {
    const interval = args?.interval ?? 'HOUR';
    const from = parseInstant(args?.from);
    const to = parseInstant(args?.to);
    if (from === undefined || to === undefined || !(INTERVALS as readonly unknown[]).includes(interval)) return MAX_COUNT_BUCKETS;
    return Math.min(Math.max(1, bucketCount(from, to, interval as Interval)), MAX_COUNT_BUCKETS);
  };

  /** Events read from storage by one resolution of a root field, and its list multiplier. */
  const storageOf = (field: FieldNode, args: Record<string, unknown> | undefined): { reads: number; perElement: number } => {
    switch (field.name.value) {
      case 'latestEvents':
        return { reads: limitOf(args) * lists.shards, perElement: limitOf(args) };
      case 'eventsByType':
      case 'eventsByUser':
        return { reads: limitOf(args), perElement: limitOf(args) };
      case 'event':
        return { reads: 1, perElement: 1 };
      case 'eventCounts':
        // One Query per call; each bucket is an element of the answer.
        return { reads: 1, perElement: bucketsOf(args) };
      default:
        return { reads: 0, perElement: 1 };
    }
  };

  const fieldDef = (parent: GraphQLNamedType, name: string): GraphQLField<unknown, unknown> | undefined => {
    if (name === '__typename') return TypeNameMetaFieldDef;
    if (parent === schema.getQueryType()) {
      if (name === '__schema') return SchemaMetaFieldDef;
      if (name === '__type') return TypeMetaFieldDef;
    }
    return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
  };

  return function estimate(document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | undefined, maxCost: number): number {
    const operation = getOperationAST(document, operationName);
    const root = operation && schema.getRootType(operation.operation);
    if (!operation || !root) return 0; // GraphQL reports the missing operation
    const fragments: Fragments = fragmentsOf(document);
    // As execution coerces them: defaults filled in, strings to enums and so on. Variables it
    // refuses make it run nothing, so there is nothing to estimate.
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
    if (coerced.errors) return 0;
    const vars = coerced.coerced;
    let cost = 0;
    const add = (amount: number) => {
      cost += amount;
      if (cost > maxCost) {
        throw new QueryTooExpensiveError(
          'the estimated cost',
          cost,
          maxCost,
          'ask for fewer events (a smaller limit), fewer fields or fewer aliases; see docs/graphql.md for the cost model',
        );
      }
    };
    const walk = (set: SelectionSetNode, parent: GraphQLNamedType, times: number, path: ReadonlySet<string>): void => {
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          const def = fieldDef(parent, selection.name.value);
          const { reads, perElement } = parent === root ? storageOf(selection, argumentsOf(def, selection, vars)) : { reads: 0, perElement: 1 };
          add(times * (1 + reads * READ_COST));
          if (!def || !selection.selectionSet) continue;
          const isList = isListType(getNullableType(def.type));
          const elements = !isList ? 1 : parent === root ? perElement : (listSizes.get(`${parent.name}.${def.name}`) ?? largestList);
          walk(selection.selectionSet, getNamedType(def.type), times * elements, path);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const condition = selection.typeCondition && schema.getType(selection.typeCondition.name.value);
          walk(selection.selectionSet, condition ?? parent, times, path);
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (!fragment || path.has(name)) continue;
          walk(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value) ?? parent, times, new Set([...path, name]));
        }
      }
    };
    walk(operation.selectionSet, root, 1, new Set());
    return cost;
  };
}
