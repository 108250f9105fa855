/**
 * Parameter and result tables of docs/protocol/*.md, generated from protocol/schema.json.
 *
 * The schema decides which rows exist, their type and whether they are required. Two
 * columns are prose kept from the table being regenerated, matched by row name: the
 * default (where the schema states none) and the meaning (where the schema has no
 * description, the hand-written text is all there is; where both exist, the hand-written
 * text wins, as it is the longer one). So a row added to a zod schema appears with the
 * schema's description, a removed one disappears, and a renamed one loses its prose.
 */

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
};

export interface SchemaDocument {
  requests: Record<string, { summary: string; params: JsonSchema; result: JsonSchema }>;
  notifications: Record<string, { summary: string; direction: string; params: JsonSchema }>;
}

const MAX_KEYS = 5;

/** A short type expression for a JSON Schema (TypeScript-like). */
export function typeOf(s: JsonSchema, depth = 0): string {
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return [...new Set(alts.flatMap((a) => typeOf(a, depth).split(' | ')))].join(' | ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (Array.isArray(s.type)) return s.type.map((t) => typeOf({ ...s, type: t }, depth)).join(' | ');
  switch (s.type) {
    case 'array': {
      const item = s.items ? typeOf(s.items, depth + 1) : 'any';
      return item.includes(' | ') ? `(${item})[]` : `${item}[]`;
    }
    case 'object': {
      const props = Object.entries(s.properties ?? {});
      if (props.length === 0) {
        const extra = typeof s.additionalProperties === 'object' ? typeOf(s.additionalProperties, depth + 1) : 'any';
        return extra === 'any' ? 'object' : `{[key]: ${extra}}`;
      }
      if (depth >= 1) return 'object';
      const required = new Set(s.required ?? []);
      const keys = props.slice(0, MAX_KEYS).map(([k, v]) => (v.const !== undefined ? `${k}: ${JSON.stringify(v.const)}` : required.has(k) ? k : `${k}?`));
      return `{${keys.join(', ')}${props.length > MAX_KEYS ? ', …' : ''}}`;
    }
    case undefined:
      return 'any';
    default:
      return s.type;
  }
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string) => '`' + s.replace(/\|/g, '\\|') + '`';

/** Rows of an existing table: first cell (without backticks) → cells. */
function parseRows(body: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of body.split('\n')) {
    if (!line.startsWith('|') || /^\|[-| ]+\|$/.test(line)) continue;
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    const name = cells[0]!.replace(/`/g, '').replace(/\?$/, '');
    if (name === 'param' || name === 'field') continue;
    rows.set(name, cells);
  }
  return rows;
}

/** `| param | type | default | meaning |` for an object schema's properties. */
export function paramsTable(schema: JsonSchema, previous: string): string {
  const props = Object.entries(schema.properties ?? {});
  if (props.length === 0) return '*No params* (absent, `null` or `{}`).';
  const old = parseRows(previous);
  const required = new Set(schema.required ?? []);
  const lines = ['| param | type | default | meaning |', '|---|---|---|---|'];
  for (const [name, s] of props) {
    const kept = old.get(name);
    const def = required.has(name)
      ? 'required'
      : s.default !== undefined
        ? code(JSON.stringify(s.default))
        : kept?.[2] || '';
    const meaning = kept?.[3] || cell(s.description ?? '');
    lines.push(`| ${code(name)} | ${code(typeOf(s))} | ${def} | ${meaning} |`);
  }
  return lines.join('\n');
}

/** `| field | type | meaning |` for a result (or notification) object's properties. */
export function fieldsTable(schema: JsonSchema, previous: string): string {
  const alts = schema.anyOf ?? schema.oneOf;
  const props = Object.entries(schema.properties ?? {});
  if (props.length === 0) return `*Result:* ${code(typeOf(schema))}.`;
  if (alts) return `*Result:* ${code(typeOf(schema))}.`;
  const old = parseRows(previous);
  const required = new Set(schema.required ?? []);
  const lines = ['| field | type | meaning |', '|---|---|---|'];
  for (const [name, s] of props) {
    const meaning = old.get(name)?.[2] || cell(s.description ?? '');
    lines.push(`| ${code(required.has(name) ? name : `${name}?`)} | ${code(typeOf(s))} | ${meaning} |`);
  }
  return lines.join('\n');
}

/** The body of a `params NAME` or `result NAME` block; NAME is a request or notification. */
export function renderTable(doc: SchemaDocument, kind: 'params' | 'result', name: string, previous: string): string {
  const req = doc.requests[name];
  const note = doc.notifications[name];
  if (kind === 'params') {
    const params = req?.params ?? note?.params;
    if (!params) throw new Error(`schema.json has no request or notification "${name}"`);
    return `*Params* (from [schema.json](../../protocol/schema.json)):\n\n${paramsTable(params, previous)}`;
  }
  if (!req) throw new Error(`schema.json has no request "${name}"`);
  const table = fieldsTable(req.result, previous);
  return table.startsWith('*Result:*') ? table : `*Result* (from [schema.json](../../protocol/schema.json)):\n\n${table}`;
}
