/**
 * Appwrite query strings (`{"method","attribute","values"}`, nested for and/or) in two dialects:
 * list queries for `GET /v1/presences` (filters, order, limit/offset, cursors, against a schema),
 * and realtime runtime queries (spec §5.8: comparisons, null checks, and/or, `select(["*"])`,
 * evaluated on top-level payload keys with strict equality). Parsing either reports Appwrite's
 * `Invalid query: …` reason; evaluation never throws.
 */
import { queryInvalid } from './errors.js';
import { parseJson } from './json.js';

/** Why a query is invalid, in Appwrite's words (becomes `Invalid query: <reason>`). */
export class QueryProblem extends Error {}

interface QueryNode {
  method: string;
  attribute: string;
  values: unknown[];
}

const MAX_QUERIES = 100;
const MAX_QUERY_LENGTH = 4096;
const MAX_VALUES = 500;
const MAX_LIMIT = 5000;
const DEFAULT_LIMIT = 25;

/** A query string, or a nested query value of and/or, as a node; throws the reason text. */
function node(value: unknown): QueryNode {
  let decoded = value;
  if (typeof value === 'string') {
    try {
      decoded = parseJson(value);
    } catch {
      throw new QueryProblem('Syntax error');
    }
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw new QueryProblem('Syntax error');
  const { method, attribute = '', values = [] } = decoded as Record<string, unknown>;
  if (typeof method !== 'string') throw new QueryProblem('Syntax error');
  if (typeof attribute !== 'string') throw new QueryProblem(`Invalid attribute for query method ${method}`);
  if (!Array.isArray(values)) throw new QueryProblem(`Values must be an array for query method ${method}`);
  if (values.length > MAX_VALUES) throw new QueryProblem(`Query on attribute has greater than ${MAX_VALUES} values: ${attribute}`);
  return { method, attribute, values };
}

/** Run a parser, turning its reason into Appwrite's 400 general_query_invalid. */
function asAppwrite<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof QueryProblem) throw queryInvalid(error.message);
    throw error;
  }
}

/** The `queries` parameter: a list of at most 100 strings of at most 4096 chars. */
function queryStrings(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.length > MAX_QUERIES) throw new QueryProblem(`Queries must be an array of at most ${MAX_QUERIES} strings`);
  for (const entry of raw) {
    if (typeof entry !== 'string' || entry.length === 0 || entry.length > MAX_QUERY_LENGTH)
      throw new QueryProblem(`Each query must be a string of 1 to ${MAX_QUERY_LENGTH} chars`);
  }
  return raw as string[];
}

// ---- list queries --------------------------------------------------------------------------

export type AttributeType = 'string' | 'datetime' | 'integer';
/** Attribute name → type, and how to read it from a row (datetimes as epoch ms, null when unset). */
export type Schema<Row> = Record<string, { type: AttributeType; read(row: Row): string | number | null }>;

type Filter<Row> = (row: Row) => boolean;
type Comparator<Row> = (a: Row, b: Row) => number;

export interface ListPlan<Row> {
  filter: Filter<Row>;
  compare: Comparator<Row>;
  limit: number;
  offset: number;
  cursor: { id: string; direction: 'after' | 'before' } | null;
}

const FILTER_METHODS = new Set([
  'equal', 'notEqual', 'lessThan', 'lessThanEqual', 'greaterThan', 'greaterThanEqual',
  'between', 'isNull', 'isNotNull', 'startsWith', 'endsWith', 'and', 'or',
]);

export function parseListQueries<Row>(raw: unknown, schema: Schema<Row>, sequence: (row: Row) => number): ListPlan<Row> {
  return asAppwrite(() => {
    const filters: Filter<Row>[] = [];
    const orders: { read: (row: Row) => string | number | null; sign: number }[] = [];
    const plan: Omit<ListPlan<Row>, 'filter' | 'compare'> = { limit: DEFAULT_LIMIT, offset: 0, cursor: null };
    for (const text of queryStrings(raw)) {
      const query = node(text);
      switch (query.method) {
        case 'limit':
          plan.limit = integerValue(query, 1, MAX_LIMIT);
          break;
        case 'offset':
          plan.offset = integerValue(query, 0, MAX_LIMIT);
          break;
        case 'cursorAfter':
        case 'cursorBefore': {
          const id = query.values[0];
          if (typeof id !== 'string' || id === '') throw new QueryProblem('Invalid cursor: Cursor must be a string');
          plan.cursor = { id, direction: query.method === 'cursorAfter' ? 'after' : 'before' };
          break;
        }
        case 'orderAsc':
        case 'orderDesc':
          orders.push({ read: attributeOf(schema, query.attribute).read, sign: query.method === 'orderAsc' ? 1 : -1 });
          break;
        default:
          filters.push(listFilter(query, schema));
      }
    }
    // Ties break on the internal sequence, in the direction of the last explicit order (utopia's rule).
    const tieSign = orders.at(-1)?.sign ?? 1;
    const compare: Comparator<Row> = (a, b) => {
      for (const order of orders) {
        const result = compareValues(order.read(a), order.read(b));
        if (result !== 0) return result * order.sign;
      }
      return (sequence(a) - sequence(b)) * tieSign;
    };
    return { ...plan, filter: (row) => filters.every((filter) => filter(row)), compare };
  });
}

function integerValue(query: QueryNode, min: number, max: number): number {
  const value = query.values[0];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new QueryProblem(`Invalid ${query.method}: Value must be a valid range between ${min.toLocaleString('en-US')} and ${max.toLocaleString('en-US')}`);
  return value;
}

function attributeOf<Row>(schema: Schema<Row>, attribute: string): Schema<Row>[string] {
  const found = Object.hasOwn(schema, attribute) ? schema[attribute] : undefined;
  if (!found) throw new QueryProblem(`Attribute not found in schema: ${attribute}`);
  return found;
}

function listFilter<Row>(query: QueryNode, schema: Schema<Row>): Filter<Row> {
  if (!FILTER_METHODS.has(query.method)) throw new QueryProblem(`Query method not valid: ${query.method}`);
  if (query.method === 'and' || query.method === 'or') {
    if (query.values.length < 2) throw new QueryProblem(`${query.method} queries require at least two queries`);
    const parts = query.values.map((value) => listFilter(node(value), schema));
    return query.method === 'and' ? (row) => parts.every((part) => part(row)) : (row) => parts.some((part) => part(row));
  }
  const attribute = attributeOf(schema, query.attribute);
  const values = query.values.map((value) => typedValue(value, attribute.type, query.attribute));
  const read = attribute.read;
  const first = values[0] ?? null;
  const needs = (count: number) => {
    if (values.length < count) throw new QueryProblem(`${query.method} queries require ${count === 1 ? 'a value' : `${count} values`}`);
  };
  switch (query.method) {
    case 'equal':
      needs(1);
      return (row) => values.includes(read(row) as never);
    case 'notEqual':
      needs(1);
      return (row) => !values.includes(read(row) as never);
    case 'lessThan':
      needs(1);
      return (row) => ordered(read(row), first, (c) => c < 0);
    case 'lessThanEqual':
      needs(1);
      return (row) => ordered(read(row), first, (c) => c <= 0);
    case 'greaterThan':
      needs(1);
      return (row) => ordered(read(row), first, (c) => c > 0);
    case 'greaterThanEqual':
      needs(1);
      return (row) => ordered(read(row), first, (c) => c >= 0);
    case 'between':
      needs(2);
      return (row) => ordered(read(row), first, (c) => c >= 0) && ordered(read(row), values[1]!, (c) => c <= 0);
    case 'isNull':
      return (row) => read(row) === null;
    case 'isNotNull':
      return (row) => read(row) !== null;
    case 'startsWith':
    case 'endsWith': {
      needs(1);
      if (attribute.type !== 'string') throw new QueryProblem(`Cannot query ${query.method} on attribute "${query.attribute}" because it is not a string`);
      const affix = first as string;
      return (row) => {
        const value = read(row);
        return typeof value === 'string' && (query.method === 'startsWith' ? value.startsWith(affix) : value.endsWith(affix));
      };
    }
  }
  throw new QueryProblem(`Query method not valid: ${query.method}`);
}

function typedValue(value: unknown, type: AttributeType, attribute: string): string | number {
  if (type === 'string' && typeof value === 'string') return value;
  if (type === 'integer' && typeof value === 'number' && Number.isFinite(value)) return value;
  if (type === 'datetime' && typeof value === 'string' && /\d{4}/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new QueryProblem(`Query value is invalid for attribute "${attribute}"`);
}

function ordered(value: string | number | null, bound: string | number | null, test: (comparison: number) => boolean): boolean {
  return value !== null && bound !== null && typeof value === typeof bound && test(compareValues(value, bound));
}

/** Nulls first (MariaDB's ascending order), then natural order; types never mix within one attribute. */
function compareValues(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

/** Apply a plan: returns the page and the number of matching rows (Appwrite counts at most 5000). */
export function runList<Row>(rows: Row[], plan: ListPlan<Row>, cursorRow: Row | undefined): { page: Row[]; total: number } {
  const matching = rows.filter(plan.filter).sort(plan.compare);
  let window = matching;
  if (plan.cursor && cursorRow) {
    const sign = plan.cursor.direction === 'after' ? 1 : -1;
    window = matching.filter((row) => plan.compare(row, cursorRow) * sign > 0);
  }
  const page =
    plan.cursor?.direction === 'before'
      ? window.slice(Math.max(0, window.length - plan.offset - plan.limit), Math.max(0, window.length - plan.offset))
      : window.slice(plan.offset, plan.offset + plan.limit);
  return { page, total: Math.min(matching.length, MAX_LIMIT) };
}

// ---- realtime runtime queries ---------------------------------------------------------------

export type RuntimeQuery = (payload: Record<string, unknown>) => boolean;

const RUNTIME_METHODS = new Set([
  'equal', 'notEqual', 'lessThan', 'lessThanEqual', 'greaterThan', 'greaterThanEqual', 'isNull', 'isNotNull', 'and', 'or', 'select',
]);

/** Parse a subscription's query strings; throws a QueryProblem. */
export function parseRuntimeQueries(raw: unknown): RuntimeQuery[] {
  const texts = queryStrings(raw);
  return texts.map((text) => runtimeQuery(node(text)));
}

function runtimeQuery(query: QueryNode): RuntimeQuery {
  if (!RUNTIME_METHODS.has(query.method)) throw new QueryProblem(`Query method not supported in realtime: ${query.method}`);
  if (query.method === 'select') {
    if (query.values.length !== 1 || query.values[0] !== '*') throw new QueryProblem('Only select(["*"]) is supported in realtime');
    return () => true;
  }
  if (query.method === 'and' || query.method === 'or') {
    const parts = query.values.map((value) => runtimeQuery(node(value)));
    return query.method === 'and' ? (payload) => parts.every((part) => part(payload)) : (payload) => parts.some((part) => part(payload));
  }
  if (query.attribute === '') throw new QueryProblem(`Query method ${query.method} requires an attribute`);
  const attribute = query.attribute;
  const read = (payload: Record<string, unknown>): unknown => (Object.hasOwn(payload, attribute) ? payload[attribute] : null);
  const values = query.values;
  const comparable = (value: unknown): value is string | number => typeof value === 'string' || typeof value === 'number';
  const compareTo = (test: (comparison: number) => boolean) => {
    const bound = values[0];
    if (!comparable(bound)) throw new QueryProblem(`Query value is invalid for attribute "${attribute}"`);
    return (payload: Record<string, unknown>) => {
      const value = read(payload);
      return comparable(value) && typeof value === typeof bound && test(value === bound ? 0 : value < bound ? -1 : 1);
    };
  };
  switch (query.method) {
    case 'equal':
      return (payload) => values.some((value) => value === read(payload));
    case 'notEqual':
      return (payload) => !values.some((value) => value === read(payload));
    case 'lessThan':
      return compareTo((c) => c < 0);
    case 'lessThanEqual':
      return compareTo((c) => c <= 0);
    case 'greaterThan':
      return compareTo((c) => c > 0);
    case 'greaterThanEqual':
      return compareTo((c) => c >= 0);
    case 'isNull':
      return (payload) => read(payload) === null;
    default:
      return (payload) => read(payload) !== null;
  }
}
