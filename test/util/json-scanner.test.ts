/**
 * Reading JSON text without parsing it: member spans (the raw text of an id), complete or
 * in a prefix, and validity agreeing with JSON.parse; and parseJsonBytes agreeing with
 * JSON.parse while long strings are made once.
 */
import { describe, expect, it } from 'vitest';
import { findMember, firstMemberStart, isJsonText } from '../../src/util/json-scanner.js';
import { parseJsonBytes } from '../../src/util/parse-json-bytes.js';

const text = (b: Buffer, path: string[]): string | undefined => {
  const span = findMember(b, path);
  return span && b.toString('utf8', span.start, span.end);
};

describe('findMember', () => {
  it('finds a member as written, whatever comes before it', () => {
    const b = Buffer.from('{"jsonrpc":"2.0", "params": {"id": [1, {"id": 2}], "x": "}\\"{"} , "id" :\t1e400 ,"method":"m"}');
    expect(text(b, ['id'])).toBe('1e400');
    expect(text(b, ['method'])).toBe('"m"');
    expect(text(b, ['params', 'x'])).toBe('"}\\"{"');
    expect(text(b, ['params', 'id'])).toBe('[1, {"id": 2}]');
    expect(text(b, ['missing'])).toBeUndefined();
  });

  it('takes the last of duplicate names, as JSON.parse does, and reads escaped names', () => {
    const b = Buffer.from('{"id":1,"i\\u0064":-0,"params":{}}');
    expect(text(b, ['id'])).toBe('-0');
  });

  it('in a prefix: what is complete before the cut, nothing after it', () => {
    const full = '{"jsonrpc":"2.0","id":9007199254740993,"method":"butler/put","params":{"data":"AAAA';
    expect(text(Buffer.from(full), ['id'])).toBe('9007199254740993');
    expect(text(Buffer.from(full), ['method'])).toBe('"butler/put"');
    expect(text(Buffer.from('{"id":12'), ['id'])).toBeUndefined(); // the number may go on
    expect(text(Buffer.from('{"params":{"a":"b"'), ['id'])).toBeUndefined();
  });

  it('stops at a break in the grammar', () => {
    expect(text(Buffer.from('{"a":1 "id":2}'), ['id'])).toBeUndefined();
    expect(text(Buffer.from('{"id":2,,"a":1}'), ['id'])).toBe('2');
    expect(text(Buffer.from('[{"id":2}]'), ['id'])).toBeUndefined();
  });

  it('walks nesting deeper than any call stack', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    expect(text(Buffer.from(`{"params":${deep},"id":7}`), ['id'])).toBe('7');
    expect(isJsonText(Buffer.from(deep))).toBe(true);
  });
});

describe('firstMemberStart', () => {
  const path = ['params', 'payload', 'data'];
  const doc = '{"id":1,"params":{"ref":{"data":[1,"}"]},"pay\\u006coad" : { "encoding":"base64", "data" :  "QUJD"}}}';

  it('finds where the value begins, through escaped names and past members it skips', () => {
    const b = Buffer.from(doc);
    expect(firstMemberStart(b, path)).toBe(doc.indexOf('"QUJD"'));
  });

  it('in a prefix: more until the value has begun, then its start', () => {
    const start = doc.indexOf('"QUJD"');
    for (let cut = 0; cut <= start; cut++) expect(firstMemberStart(Buffer.from(doc.slice(0, cut)), path)).toBe('more');
    expect(firstMemberStart(Buffer.from(doc.slice(0, start + 1)), path)).toBe(start);
  });

  it('absent where the path is not through objects, or a member is missing from a closed object', () => {
    for (const t of ['[1]', '{"params":[{"payload":{}}]}', '{"params":{"payload":{"x":1}}}', '{"params":{"payload":{"x":1} ,}', '"s"']) {
      expect(firstMemberStart(Buffer.from(t), path), t).toBe('absent');
    }
  });

  it('goes through the first of duplicate names (a caller checks what JSON.parse takes)', () => {
    const t = '{"params":{"payload":{"data":1}},"params":{"payload":{"data":2}}}';
    expect(firstMemberStart(Buffer.from(t), path)).toBe(t.indexOf('1'));
  });
});

describe('isJsonText', () => {
  it.each([
    ['{"a":[1,-2.5e+3,true,false,null,"x\\u00e9\\n"]}', true],
    [' 0 ', true],
    ['-0', true],
    ['"é"', true],
    ['{}', true],
    ['01', false],
    ['1.', false],
    ['.5', false],
    ['+1', false],
    ['{"a":1,}', false],
    ['[1 2]', false],
    ['"\u0001"', false],
    ['"\\x"', false],
    ['{"a" 1}', false],
    ['nul', false],
    ['1 2', false],
    ['', false],
  ])('%j: %s', (t, valid) => {
    expect(isJsonText(Buffer.from(t))).toBe(valid);
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(isJsonText(Buffer.from([0x22, 0xff, 0x22]))).toBe(false);
  });

  it('agrees with JSON.parse on random texts made of JSON tokens', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const tokens = ['{', '}', '[', ']', ',', ':', '"a"', '1', '-0', '2.5e3', 'true', 'null', ' ', '"\\n"', '0', '-', '.', 'e'];
    for (let i = 0; i < 20_000; i++) {
      const t = Array.from({ length: 1 + rand(8) }, () => tokens[rand(tokens.length)]).join('');
      let parses = true;
      try {
        JSON.parse(t);
      } catch {
        parses = false;
      }
      expect([t, isJsonText(Buffer.from(t))]).toEqual([t, parses]);
    }
  });
});

describe('parseJsonBytes', () => {
  const long = (c: string) => c.repeat(1024 * 1024 + 7);

  it.each([
    ['a long base64 string in a request', { jsonrpc: '2.0', id: 1, params: { payload: { encoding: 'base64', data: long('QUJD') } } }],
    ['long strings with escapes and non-ASCII text', { a: long('é\n"\\'), b: [long('🚀'), 'short', long('x')] }],
    ['a long key (kept in place) and __proto__', JSON.parse(`{"${long('k')}":1,"__proto__":"${long('p')}"}`)],
    ['a long string alone', long('z')],
  ])('%s: the same value as JSON.parse', (_name, value) => {
    const body = Buffer.from(JSON.stringify(value));
    const parsed = parseJsonBytes(body);
    expect(parsed).toEqual(JSON.parse(body.toString()));
    if (typeof parsed === 'object' && parsed !== null && '__proto__' in parsed) {
      expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    }
  });

  it('fails where JSON.parse fails (a raw control character in a long string, a broken envelope)', () => {
    expect(() => parseJsonBytes(Buffer.from(`{"a":"${long('x')}\u0001"}`))).toThrow(SyntaxError);
    expect(() => parseJsonBytes(Buffer.from(`{"a":"${long('x')}" "b":1}`))).toThrow(SyntaxError);
    expect(() => parseJsonBytes(Buffer.from(`{"a":"${long('x')}`))).toThrow(SyntaxError);
  });

  it('a string that looks like the marker is only a string', () => {
    const sneaky = '\u0000qb-long-string-00-0';
    const value = { a: long('x'), b: sneaky };
    expect(parseJsonBytes(Buffer.from(JSON.stringify(value)))).toEqual(value);
  });
});
