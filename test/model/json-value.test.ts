/**
 * The JSON module: RFC 8785 canonical form (with the RFC's own examples), the I-JSON
 * rules every layer validates with, copies and the depth limit.
 */
import { describe, expect, it } from 'vitest';
import { InvalidValue } from '../../src/model/errors.js';
import {
  JSON_ASCII_AS_IS,
  MAX_JSON_DEPTH,
  asciiQuoted,
  isAsciiAsIs,
  canonicalJson,
  copyJson,
  isEscapeFree,
  isNormalJson,
  jsonEqual,
  jsonString,
  jsonValueProblem,
  markEscapeFree,
  nestedDeeperThan,
} from '../../src/model/json-value.js';
import { checkMetadata } from '../../src/store/values.js';
import { JsonFormatter } from '../../src/datastore/formatters.js';

/** `[[...leaf]]`, `depth` arrays deep. */
function nestedArrays(depth: number, leaf: unknown = 1): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** The double whose IEEE-754 bits are `hex` (RFC 8785 Appendix B writes its samples so). */
function fromIeeeHex(hex: string): number {
  const b = Buffer.from(hex.padStart(16, '0'), 'hex');
  return b.readDoubleBE(0);
}

describe('canonicalJson is RFC 8785 (JCS)', () => {
  it('RFC 8785 §3.2.2: whitespace, number and string serialisation', () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(canonicalJson(JSON.parse(input))).toBe(expected);
  });

  it('RFC 8785 §3.2.3: members sorted by UTF-16 code units', () => {
    const input = String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`;
    // The values in the order the RFC lists them (read off the text: a JS object would put "1" first).
    const values = [...canonicalJson(JSON.parse(input)).matchAll(/:"([^"]*)"/g)].map((m) => m[1]);
    expect(values).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
    // The text itself: "\r" escaped, everything else literal.
    expect(canonicalJson(JSON.parse(input))).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\u{1F600}":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('RFC 8785 §3.2.4: the UTF-8 bytes of the §3.2.2 example', () => {
    const input = String.raw`{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}`;
    const hex = `
      7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
      75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
      5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
      65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
      5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
      30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d`.replace(/\s+/g, '');
    expect(Buffer.from(canonicalJson(JSON.parse(input)), 'utf8').toString('hex')).toBe(hex);
  });

  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('RFC 8785 Appendix B: the double %s is written %s', (hex, text) => {
    expect(canonicalJson(fromIeeeHex(hex))).toBe(text);
    expect(canonicalJson([fromIeeeHex(hex)])).toBe(`[${text}]`);
  });

  it.each([['7fffffffffffffff'], ['7ff0000000000000']])('RFC 8785 Appendix B: %s (NaN, Infinity) is an error', (hex) => {
    expect(() => canonicalJson({ n: fromIeeeHex(hex) })).toThrow(InvalidValue);
  });

  it('lone surrogates are an error (RFC 8785 §3.2.2.2 / I-JSON), in strings and in member names', () => {
    expect(() => canonicalJson('a\ud800')).toThrow(InvalidValue);
    expect(() => canonicalJson({ ['\udc00']: 1 })).toThrow(/member name that is not well-formed/);
    expect(canonicalJson('\u{1F600}')).toBe('"\u{1F600}"');
  });

  it('sorts nested members wherever they are', () => {
    expect(canonicalJson({ b: [{ d: 1, c: { f: 0, e: null } }], a: '' })).toBe('{"a":"","b":[{"c":{"e":null,"f":0},"d":1}]}');
  });

  it('an own "__proto__" member is a member like any other', () => {
    const v = JSON.parse('{"z":1,"__proto__":{"x":[1]}}') as unknown;
    expect(canonicalJson(v)).toBe('{"__proto__":{"x":[1]},"z":1}');
  });
});

describe('canonicalJson of values holding strings of some length (quoted as they are when they need no escape)', () => {
  // An independent reference: members sorted, every string written by JSON.stringify.
  const reference = (v: unknown): string =>
    Array.isArray(v)
      ? `[${v.map(reference).join(',')}]`
      : v !== null && typeof v === 'object'
        ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${reference((v as Record<string, unknown>)[k])}`).join(',')}}`
        : JSON.stringify(v);
  const strings = [255, 256, 257, 1000, 5000].flatMap((n) => [
    'x'.repeat(n),
    `${'x'.repeat(n - 1)}"`,
    `\\${'x'.repeat(n)}`,
    `${'x'.repeat(n)}\n`,
    `${'x'.repeat(n)}\u0000`,
    `${'x'.repeat(n)}\u001f`,
    `${'é'.repeat(n)}\u007f\u2028\u2029`,
    `${'🚀'.repeat(n)}`,
  ]);
  it.each(strings.map((s) => [s.length, s] as const))('a string of %i characters, alone, as a member and among many nodes', (_n, s) => {
    const many = { z: s, a: Array.from({ length: 100 }, (_, i) => i) };
    for (const value of [s, { payload: s }, { b: s, a: [s, 1, null] }, [s, { y: s, x: -0 }], many]) {
      expect(canonicalJson(value)).toBe(reference(value));
      expect(JsonFormatter.toBytes(value).equals(Buffer.from(reference(value), 'utf8'))).toBe(true);
    }
  });
});

describe('jsonString is JSON.stringify for a string', () => {
  it('for every UTF-16 unit alone, first, inside and last, and for surrogate pairs and lone halves', () => {
    // Mismatches gathered and asserted once: 262,144 expect() calls took 6 s alone and over
    // vitest's 30 s timeout on a loaded 2-core machine.
    const wrong: string[] = [];
    for (let c = 0; c < 0x10000; c++) {
      const u = String.fromCharCode(c);
      for (const s of [u, `${u}abc`, `ab${u}cd`, `abc${u}`]) if (jsonString(s) !== JSON.stringify(s)) wrong.push(s);
    }
    expect(wrong).toEqual([]);
    for (const s of ['', '🚀', 'a🚀b', '\ud83d', '\ude80', '\ude80\ud83d', 'x\ud83d', '\ude80x', '\u2028\u2029', 'a"b\\c\n', 'x'.repeat(5000)]) {
      expect(jsonString(s)).toBe(JSON.stringify(s));
    }
  });

  it('canonicalJson writes member names and numbers of objects out of order as JSON.stringify writes them', () => {
    const numbers = [0, -0, 1, -1.5, 1e21, 1e-7, 5e-324, 2 ** 53 + 2, -(2 ** 31), 0.1 + 0.2, Number.MAX_VALUE];
    const value = Object.fromEntries(numbers.map((n, i) => [`k${String.fromCharCode(0x7f + ((i * 37) % 0x900))}"\\\n${numbers.length - i}`, n]));
    const sorted = Object.fromEntries(Object.keys(value).sort().map((k) => [k, value[k]]));
    expect(canonicalJson(value)).toBe(JSON.stringify(sorted));
    expect(canonicalJson({ b: numbers, a: { '\u0001🚀': -0 } })).toBe(`{"a":{"\\u0001🚀":0},"b":${JSON.stringify(numbers)}}`);
  });
});

describe('what a JSON value is', () => {
  it.each([null, true, 0, -1.5, 'x', [], {}, [1, 'a', { b: [null] }], { z: 1, a: { y: [true] } }])('accepts %j', (v) => {
    expect(jsonValueProblem(v)).toBeNull();
  });

  it.each([
    [undefined, '$ is undefined, not a JSON value'],
    [{ a: [1, Number.NaN] }, '$.a[1] is a non-finite number'],
    [{ a: { b: () => 1 } }, '$.a.b is a function, not a JSON value'],
    [{ a: Buffer.from('x') }, '$.a is a Buffer, not a JSON value'],
    [[1n], '$[0] is a bigint, not a JSON value'],
    [{ a: new Date(0) }, '$.a is a Date, not a JSON value'],
    [{ a: ['\ud83d'] }, '$.a[0] is not well-formed Unicode (a lone surrogate)'],
  ])('names the problem and where it is: %s', (v, message) => {
    expect(jsonValueProblem(v)).toBe(message);
  });

  it('finds a cycle', () => {
    const o: Record<string, unknown> = { a: [1] };
    (o['a'] as unknown[]).push(o);
    expect(jsonValueProblem(o)).toBe('$.a[1] is part of a cycle');
  });

  it('a shared (not cyclic) object is fine', () => {
    const shared = { x: 1 };
    expect(jsonValueProblem({ a: shared, b: [shared, shared] })).toBeNull();
  });

  it(`nests at most ${MAX_JSON_DEPTH} containers, for every layer alike`, () => {
    expect(jsonValueProblem(nestedArrays(MAX_JSON_DEPTH))).toBeNull();
    expect(jsonValueProblem(nestedArrays(MAX_JSON_DEPTH + 1))).toMatch(/nested deeper than 256 levels/);
    expect(() => canonicalJson(nestedArrays(MAX_JSON_DEPTH + 1))).toThrow(InvalidValue);
    // Store metadata: the metadata object itself is one level.
    expect(() => checkMetadata({ x: nestedArrays(MAX_JSON_DEPTH - 1) })).not.toThrow();
    expect(() => checkMetadata({ x: nestedArrays(MAX_JSON_DEPTH) })).toThrow(InvalidValue);
    // Far deeper values are refused without exhausting the stack.
    expect(jsonValueProblem(nestedArrays(100_000))).toMatch(/nested deeper/);
  });
});

describe('copies', () => {
  it('-0 becomes 0 in copies (and in canonical text), so every backend returns the same value', () => {
    const copy = copyJson({ a: [-0], b: -0 }) as { a: number[]; b: number };
    expect(Object.is(copy.b, 0)).toBe(true);
    expect(Object.is(copy.a[0], 0)).toBe(true);
    expect(canonicalJson(-0)).toBe('0');
    expect(isNormalJson({ a: [0] })).toBe(true);
    expect(isNormalJson({ a: [-0] })).toBe(false);
    expect(Object.is((checkMetadata({ n: -0 }) as { n: number }).n, 0)).toBe(true);
  });

  it('a copy is deep and keeps a "__proto__" member as data', () => {
    const v = JSON.parse('{"__proto__":{"a":1},"k":[{"x":1}]}') as Record<string, unknown>;
    const copy = copyJson(v) as Record<string, unknown>;
    expect(Object.keys(copy)).toEqual(['__proto__', 'k']);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    (v['k'] as Array<{ x: number }>)[0]!.x = 2;
    expect(jsonEqual(copy['k'], [{ x: 1 }])).toBe(true);
  });

  it('copyJson names what it refuses', () => {
    expect(() => copyJson({ a: Number.POSITIVE_INFINITY }, 'metadata')).toThrow('metadata.a is a non-finite number.');
  });
});

describe('jsonEqual', () => {
  it('ignores member order, not array order, and never coerces', () => {
    expect(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(jsonEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual(1, true)).toBe(false);
    expect(jsonEqual('1', 1)).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
    expect(jsonEqual({ a: undefined }, {})).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
  });

  it('equal values have equal canonical text and unequal ones do not', () => {
    // Each pair with whether it is equal, stated here (not taken from either function).
    const pairs: Array<[unknown, unknown, boolean]> = [
      [{ b: 1, a: { d: [1, { y: 1, x: 2 }], c: null } }, { a: { c: null, d: [1, { x: 2, y: 1 }] }, b: 1 }, true],
      [[1, 2], [2, 1], false],
      ['1', 1, false],
      [{ a: 0 }, { a: -0 }, true],
      [{ a: [1, { b: 2 }] }, { a: [1, { b: 3 }] }, false],
    ];
    for (const [a, b, equal] of pairs) {
      expect(jsonEqual(a, b)).toBe(equal);
      expect(canonicalJson(a) === canonicalJson(b)).toBe(equal);
    }
  });
});

describe('nestedDeeperThan', () => {
  it('measures containers iteratively, so any depth is safe to ask about', () => {
    expect(nestedDeeperThan(1, 0)).toBe(false);
    expect(nestedDeeperThan([], 0)).toBe(true);
    expect(nestedDeeperThan({ a: [1, { b: 2 }] }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: [1, { b: 2 }] }, 2)).toBe(true);
    expect(nestedDeeperThan(nestedArrays(200_000), 300)).toBe(true);
  });
});

describe("canonicalJson(value, 'bytes')", () => {
  const long = (c: string) => c.repeat(Math.ceil((1024 * 1024 + 5) / c.length));
  // The UTF-8 bytes of the canonical text, made the plain way (not by the function under test).
  const expected = (v: unknown) => Buffer.from(canonicalJson(v), 'utf8');

  it.each([
    ['a long string member (written straight from the value)', { s: long('x') }],
    ['unsorted members around long strings', { z: long('z'), a: [long('a'), 1.5e300, -0, null, true, false], m: { y: 'é', b: long('b') } }],
    ['long strings with escapes, non-ASCII and surrogate pairs', { q: long('"\\\n\u0001'), u: long('é€🚀'), v: `${long('x')}\u007f\u2028` }],
    ['integer-like keys (sorted as strings, not as the engine orders them)', { '10': long('t'), '9': 'n', '': 0, 'é': [], '\u0000': {} }],
    ['a long string alone', long('s')],
    ['small values (the text path)', { b: 1, a: [2, 'x'] }],
  ])('%s: the bytes of the canonical text', (_name, value) => {
    const json = canonicalJson(value, 'bytes');
    const bytes = typeof json === 'string' ? Buffer.from(json, 'utf8') : json;
    expect(bytes.equals(expected(value))).toBe(true);
    // Bytes when the value holds a long string (in a buffer of its own: kept without a copy).
    if (Buffer.isBuffer(json)) expect([json.byteOffset, json.buffer.byteLength]).toEqual([0, json.length]);
    expect(Buffer.isBuffer(json)).toBe(!_name.startsWith('small'));
    // What the JSON formatter stores: the same bytes.
    expect(JsonFormatter.toBytes(value).equals(expected(value))).toBe(true);
  });

  it('refuses what is not JSON, as canonicalJson does', () => {
    expect(() => canonicalJson({ s: long('x'), bad: undefined }, 'bytes')).toThrow(InvalidValue);
    expect(() => canonicalJson({ s: long('x'), lone: '\ud800' }, 'bytes')).toThrow(InvalidValue);
  });
});

describe('canonicalJson of a value marked escape-free (markEscapeFree)', () => {
  it('writes the same text as for the unmarked value', () => {
    const long = 'x'.repeat(300);
    const values = [
      { z: long, a: 1, m: { y: true, b: null } },
      { 'ü': `é${long}🚀`, a: 'ß', n: [-0, 1e21, 1e-7, 5e-324] },
      { a: [[[], [{}]], [1, [2, [3, long]]]], e: {} },
      [{ b: long, a: long }],
    ];
    for (const v of values) {
      const expected = canonicalJson(JSON.parse(JSON.stringify(v)));
      markEscapeFree(v);
      expect(isEscapeFree(v)).toBe(true);
      expect(canonicalJson(v)).toBe(expected);
    }
  });

  it('quotes the strings of a marked value unread (so only values without escapes may be marked)', () => {
    // Breaks the contract on purpose: the quote is written as it is, which shows the marked path is the one taken.
    const v = { s: `${'x'.repeat(300)}"`, k: 'a"b' };
    expect(canonicalJson(v)).toBe(`{"k":"a\\"b","s":"${'x'.repeat(300)}\\""}`);
    markEscapeFree(v);
    expect(canonicalJson(v)).toBe(`{"k":"a"b","s":"${'x'.repeat(300)}""}`);
  });

  it('leaves no trace a reader of the value sees, and no mark on copies', () => {
    const v = JSON.parse('{"b":[{"c":"x"}],"a":"y"}') as { b: unknown[]; a: string };
    const plain = JSON.parse('{"b":[{"c":"x"}],"a":"y"}') as unknown;
    markEscapeFree(v);
    expect(isEscapeFree(v)).toBe(true);
    expect(Object.keys(v)).toEqual(['b', 'a']);
    // Not even a reflective look sees it (a symbol member, defined in the runtime, did).
    expect(Reflect.ownKeys(v)).toEqual(['b', 'a']);
    expect(Object.getOwnPropertySymbols(v)).toEqual([]);
    expect(JSON.stringify(v)).toBe('{"b":[{"c":"x"}],"a":"y"}');
    expect(v).toStrictEqual(plain);
    for (const copy of [{ ...v }, structuredClone(v), Object.create(v) as object, copyJson(v)]) expect(isEscapeFree(copy)).toBe(false);
    const frozen = Object.freeze({ a: 'x' });
    expect(() => markEscapeFree(frozen)).not.toThrow();
    // Marked twice, it stays marked (a private field cannot be added twice: the second is skipped).
    expect(() => markEscapeFree(v)).not.toThrow();
    expect(isEscapeFree(v)).toBe(true);
    const arr = JSON.parse('["x",{"y":1}]') as unknown[];
    markEscapeFree(arr);
    expect(isEscapeFree(arr)).toBe(true);
    expect(Reflect.ownKeys(arr)).toEqual(['0', '1', 'length']);
  });

  it('marks objects only', () => {
    markEscapeFree('s');
    markEscapeFree(null);
    expect(isEscapeFree('s')).toBe(false);
    expect(isEscapeFree({})).toBe(false);
  });
});

describe('asciiQuoted', () => {
  it('quotes exactly the strings JSON_ASCII_AS_IS accepts, as JSON.stringify writes them', () => {
    const edges = ['\u0000', '\u001f', ' ', '!', '"', '#', '[', '\\', ']', '~', '\u007f', '\u0080', '\u00e9', '\u2028', '\ud800', '\udc00', '\ud83d\ude00'];
    const strings = [''];
    for (const c of edges) strings.push(c, `a${c}`, `${c}b`, `a${c}b`);
    for (const s of strings) {
      const quoted = asciiQuoted(s);
      expect(quoted !== undefined, JSON.stringify(s)).toBe(JSON_ASCII_AS_IS.test(s));
      expect(isAsciiAsIs(s), JSON.stringify(s)).toBe(JSON_ASCII_AS_IS.test(s));
      if (quoted !== undefined) expect(quoted).toBe(JSON.stringify(s));
    }
  });
});
