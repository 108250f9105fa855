/**
 * Paths into JSON values, as mismatches report them and captures name them:
 * `$.result.inputs[0].state`, with `["..."]` for keys that are not identifiers
 * (`$.result.methods["server/ping"].count`).
 */
export type PathSegment = string | number;

const IDENT_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function childPath(path: string, seg: PathSegment): string {
  if (typeof seg === 'number') return `${path}[${seg}]`;
  return IDENT_RE.test(seg) ? `${path}.${seg}` : `${path}[${JSON.stringify(seg)}]`;
}

/** Parse `$.a[0]["b/c"]` (the leading `$` and `.` are optional). Throws on bad syntax. */
export function parsePath(path: string): PathSegment[] {
  const segs: PathSegment[] = [];
  let i = path.startsWith('$') ? 1 : 0;
  if (i === 0 && path.length > 0 && path[0] !== '.' && path[0] !== '[') path = `.${path}`;
  while (i < path.length) {
    if (path[i] === '.') {
      const m = /^[^.[\]]+/.exec(path.slice(i + 1));
      if (!m) throw new Error(`bad path ${path}: empty key at ${i}`);
      segs.push(m[0]);
      i += 1 + m[0].length;
    } else if (path[i] === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) throw new Error(`bad path ${path}: unclosed [`);
      const inner = path.slice(i + 1, close);
      if (/^\d+$/.test(inner)) segs.push(Number(inner));
      else {
        try {
          const key: unknown = JSON.parse(inner);
          if (typeof key !== 'string') throw new Error();
          segs.push(key);
        } catch {
          throw new Error(`bad path ${path}: [${inner}] is neither an index nor a quoted key`);
        }
      }
      i = close + 1;
    } else {
      throw new Error(`bad path ${path} at ${i}`);
    }
  }
  return segs;
}

export function getPath(value: unknown, segs: PathSegment[]): { found: boolean; value?: unknown } {
  let cur = value;
  for (const s of segs) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, s)) return { found: false };
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return { found: true, value: cur };
}
