/**
 * isCanonicalJsonText says yes only for text that is byte for byte canonicalJson of its
 * parsed value, and findMemberInValid finds what findMember finds in valid text: a put
 * stores the request's own text only when it is exactly what canonicalJson would write.
 */
import { describe, expect, it } from 'vitest';
import { findMember, findMemberInValid, isCanonicalJsonText } from '../../src/util/json-scanner.js';
import { canonicalJson } from '../../src/model/json-value.js';

/** The check's answer, and whether it is right (canonicalJson of the parse is the same bytes). */
function judge(text: string | Buffer): { claimed: boolean; canonical: boolean } {
  const b = Buffer.isBuffer(text) ? text : Buffer.from(text);
  let canonical: boolean;
  try {
    canonical = Buffer.from(canonicalJson(JSON.parse(b.toString('utf8')))).equals(b);
  } catch {
    canonical = false; // not a JSON value canonicalJson writes (1e400)
  }
  return { claimed: isCanonicalJsonText(b, 0, b.length), canonical };
}

const canonicalTexts = [
  '{}', '[]', '{"a":1}', '{"a":1,"b":[1,2,{"c":null}]}', '[[],[[]],{}]', '"x"', '0', '-1', '1.5', '1e+21', '1e-7', '123456789',
  '{"":0,"a":true,"b":false}', '{"é":1,"z":2}'.replace('"é":1,"z":2', '"z":2,"é":1'), '"é😀"', '{"a":"\u007f"}',
  // RFC 8785 order is by UTF-16 code units: U+1F600 (surrogates D83D…) sorts before U+FB01.
  '{"😀":1,"ﬁ":2}', '{"payload":"' + 'x'.repeat(1000) + '"}', '[0,-0.5,100000,1.7976931348623157e+308,5e-324]',
];
const nonCanonicalTexts = [
  '{"b":1,"a":2}', '{"a":1,"a":2}', '{ "a":1}', '{"a": 1}', '[1, 2]', ' {}', '{"a":1} ', '[1.0]', '[1e5]', '[1E5]', '[-0]', '[0.10]',
  '["\\u00e9"]', '["a\\nb"]', '["\\/"]', '{"\\u0061":1}', '{"ﬁ":2,"😀":1}', '[1e400]', '[100000000000000000000000]', '[0.0000001]', '"\\""',
  '\n[]', '{"a":[1,2 ]}',
];

describe('isCanonicalJsonText', () => {
  it('says yes to canonical texts', () => {
    for (const t of canonicalTexts) expect({ t, ...judge(t) }).toEqual({ t, claimed: true, canonical: true });
  });

  it('says no to any other form of the same values', () => {
    for (const t of nonCanonicalTexts) expect({ t, ...judge(t) }).toMatchObject({ t, claimed: false });
  });

  it('never says yes wrongly, over many generated values and written forms', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const strings = ['', 'a', 'b', 'ab', 'é', '😀', 'ﬁ', '"', '\\', '\n', '\u0001', '/', '\u2028', 'A', 'a b'];
    const numbers = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 123.456, 2 ** 53 + 2, -1e-300];
    const value = (depth: number): unknown => {
      const k = rand(depth > 3 ? 4 : 7);
      if (k === 0) return strings[rand(strings.length)];
      if (k === 1) return numbers[rand(numbers.length)];
      if (k === 2) return [null, true, false][rand(3)];
      if (k === 3) return strings[rand(strings.length)]! + strings[rand(strings.length)]!;
      if (k === 4) return Array.from({ length: rand(4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: rand(5) }, () => [strings[rand(strings.length)]!, value(depth + 1)]));
    };
    // Written forms: as the JSON engine writes it (members in insertion order), spaced, canonical.
    const forms = (v: unknown): string[] => [JSON.stringify(v), JSON.stringify(v, null, rand(3)), canonicalJson(v)];
    let claimed = 0;
    for (let i = 0; i < 3000; i++) {
      for (const t of forms(value(0))) {
        const r = judge(t);
        if (r.claimed) {
          claimed++;
          expect(r.canonical, t).toBe(true);
        }
      }
    }
    expect(claimed).toBeGreaterThan(1000); // the check is not merely always false
  });

  it('says no to text that is not well-formed UTF-8, which a parse would have changed', () => {
    const b = Buffer.concat([Buffer.from('["a'), Buffer.from([0xff]), Buffer.from('"]')]);
    expect(judge(b)).toEqual({ claimed: false, canonical: false });
  });

  it('judges a span of a larger text by itself', () => {
    const b = Buffer.from('{"value":{"a":[1,2]},"x":1}');
    expect(isCanonicalJsonText(b, 9, 20)).toBe(true);
    expect(isCanonicalJsonText(b, 9, 19)).toBe(false);
  });

  it('leaves very deep values to canonicalJson', () => {
    const deep = '['.repeat(100) + ']'.repeat(100);
    expect(judge(deep)).toEqual({ claimed: false, canonical: true });
  });
});

describe('findMemberInValid', () => {
  it('finds the span findMember finds, the last of duplicate names included', () => {
    const texts = [
      '{"jsonrpc":"2.0","id":1,"method":"butler/put","params":{"sessionId":"s","ref":{"id":"x"},"payload":{"encoding":"json","value":{"a":"}\\"{"}}}}',
      '{"params":{"payload":{"value":[1,2]},"payload":{"value":{"b":2},"value":3}}}',
      '{ "params" : { "payload" : { "value" : -0.5e3 } } }',
      '{"params":{"pay\\u006coad":{"val\\u0075e":"v"}},"params":{"payload":{"x":1}}}',
      '{"params":{"payload":{"value":"\\\\"}}}',
      '{"params":[{"payload":{"value":1}}]}',
      '{"params":{"payload":{"value":true,"other":null}}}',
      '{"params":{}}',
    ];
    for (const t of texts) {
      const b = Buffer.from(t);
      expect({ t, span: findMemberInValid(b, ['params', 'payload', 'value']) }).toEqual({ t, span: findMember(b, ['params', 'payload', 'value']) });
    }
  });
});
