import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedInputError, errorCodes } from '../../src/core/errors';
import {
  L402_MAX_HEADER_LENGTH,
  formatL402Authorization,
  formatL402Challenge,
  parseL402Authorization,
  parseL402Challenge,
  parseL402Challenges,
} from '../../src/protocol/l402';

const MAC = 'AgELeDQwMi1yYWlscwJCAAD+/w==';
const MAC2 = 'AgEDbHNhdAJCAAA-_w';
const INVOICE = 'lnbcrt210n1pjexample0qqqsp5xyz';
const PREIMAGE = '0f'.repeat(32);

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('L402 WWW-Authenticate challenge', () => {
  it('reads the canonical form', () => {
    expect(parseL402Challenge(`L402 macaroon="${MAC}", invoice="${INVOICE}"`)).toEqual({
      scheme: 'L402',
      macaroon: MAC,
      invoice: INVOICE,
      params: { macaroon: MAC, invoice: INVOICE },
    });
  });

  it.each([
    ['reversed order', `L402 invoice="${INVOICE}", macaroon="${MAC}"`],
    ['no spaces', `L402 macaroon="${MAC}",invoice="${INVOICE}"`],
    ['extra spaces and tabs', `  L402   macaroon = "${MAC}" ,\t invoice="${INVOICE}"  `],
    ['no comma', `L402 macaroon="${MAC}" invoice="${INVOICE}"`],
    ['bare values', `L402 macaroon=${MAC}, invoice=${INVOICE}`],
    ['extra parameters', `L402 realm="api", macaroon="${MAC}", version=0, invoice="${INVOICE}", x="a, b"`],
    ['upper-case names, lower-case scheme', `l402 MACAROON="${MAC}", Invoice="${INVOICE}"`],
    ['lightning: prefix, upper-case invoice', `L402 macaroon="${MAC}", invoice="lightning:${INVOICE.toUpperCase()}"`],
    ['escaped quoted string', `L402 macaroon="${MAC}", note="say \\"hi\\"", invoice="${INVOICE}"`],
  ])('is lenient: %s', (_name, header) => {
    const c = parseL402Challenge(header);
    expect(c?.macaroon).toBe(MAC);
    expect(c?.invoice).toBe(INVOICE);
  });

  it('accepts the LSAT alias and finds L402 among other schemes', () => {
    expect(parseL402Challenge(`LSAT macaroon="${MAC}", invoice="${INVOICE}"`)?.scheme).toBe('LSAT');
    const all = parseL402Challenges(
      `Bearer realm="x", error="invalid_token", Basic dXNlcjpw/YXNz, L402 macaroon="${MAC}", invoice="${INVOICE}", LSAT macaroon="${MAC2}", invoice="${INVOICE}"`,
    );
    expect(all.map((c) => [c.scheme, c.macaroon])).toEqual([
      ['L402', MAC],
      ['LSAT', MAC2],
    ]);
  });

  it('returns undefined when there is no L402 challenge', () => {
    expect(parseL402Challenge('')).toBeUndefined();
    expect(parseL402Challenge('Bearer realm="api"')).toBeUndefined();
    expect(parseL402Challenge('Negotiate abc==')).toBeUndefined();
  });

  it.each([
    ['missing invoice', `L402 macaroon="${MAC}"`],
    ['missing macaroon', `L402 invoice="${INVOICE}"`],
    ['macaroon not base64', `L402 macaroon="not base64!", invoice="${INVOICE}"`],
    ['invoice not bolt11', `L402 macaroon="${MAC}", invoice="bitcoin:abc"`],
    ['unterminated quote', `L402 macaroon="${MAC}, invoice="${INVOICE}`],
    ['garbage first', `"quoted" L402 macaroon="${MAC}"`],
    ['too long', `L402 macaroon="${'A'.repeat(L402_MAX_HEADER_LENGTH)}", invoice="${INVOICE}"`],
  ])('refuses %s with MalformedInputError (400)', (_name, header) => {
    const error = thrown(() => parseL402Challenges(header));
    expect(error).toBeInstanceOf(MalformedInputError);
    expect(error).toMatchObject({ status: 400 });
  });

  it('reports an oversized header as HEADER_TOO_LARGE', () => {
    expect(thrown(() => parseL402Challenges('x'.repeat(L402_MAX_HEADER_LENGTH + 1)))).toMatchObject({
      code: errorCodes.HEADER_TOO_LARGE,
    });
  });

  it('formats what it reads', () => {
    const header = formatL402Challenge({ macaroon: MAC, invoice: INVOICE });
    expect(header).toBe(`L402 macaroon="${MAC}", invoice="${INVOICE}"`);
    expect(parseL402Challenge(header)).toMatchObject({ macaroon: MAC, invoice: INVOICE });
    expect(formatL402Challenge({ macaroon: MAC, invoice: INVOICE }, 'LSAT')).toMatch(/^LSAT /);
    expect(thrown(() => formatL402Challenge({ macaroon: 'a"b', invoice: INVOICE }))).toBeInstanceOf(
      MalformedInputError,
    );
  });
});

describe('L402 Authorization credential', () => {
  it('reads one or several macaroons and the preimage', () => {
    expect(parseL402Authorization(`L402 ${MAC}:${PREIMAGE}`)).toEqual({
      scheme: 'L402',
      macaroons: [MAC],
      preimage: PREIMAGE,
    });
    expect(parseL402Authorization(`L402 ${MAC},${MAC2}:${PREIMAGE}`).macaroons).toEqual([MAC, MAC2]);
  });

  it('is lenient about case, spacing and the LSAT alias', () => {
    expect(parseL402Authorization(`  lsat   ${MAC} , ${MAC2} : ${PREIMAGE.toUpperCase()}  `)).toEqual({
      scheme: 'LSAT',
      macaroons: [MAC, MAC2],
      preimage: PREIMAGE,
    });
  });

  it.each([
    ['another scheme', `Bearer ${MAC}`],
    ['no credential', 'L402'],
    ['no preimage', `L402 ${MAC}`],
    ['empty macaroon', `L402 :${PREIMAGE}`],
    ['empty macaroon in a list', `L402 ${MAC},,:${PREIMAGE}`],
    ['short preimage', `L402 ${MAC}:abcd`],
    ['non-hex preimage', `L402 ${MAC}:${'zz'.repeat(32)}`],
    ['macaroon not base64', `L402 m@c:${PREIMAGE}`],
    ['too many macaroons', `L402 ${Array(9).fill(MAC).join(',')}:${PREIMAGE}`],
    ['too long', `L402 ${'A'.repeat(L402_MAX_HEADER_LENGTH)}:${PREIMAGE}`],
  ])('refuses %s with MalformedInputError (400)', (_name, header) => {
    const error = thrown(() => parseL402Authorization(header));
    expect(error).toBeInstanceOf(MalformedInputError);
    expect(error).toMatchObject({ status: 400 });
  });

  it('formats what it reads', () => {
    const header = formatL402Authorization({ macaroons: [MAC, MAC2], preimage: PREIMAGE.toUpperCase() });
    expect(header).toBe(`L402 ${MAC},${MAC2}:${PREIMAGE}`);
    expect(parseL402Authorization(header)).toMatchObject({ macaroons: [MAC, MAC2], preimage: PREIMAGE });
    expect(thrown(() => formatL402Authorization({ macaroons: [], preimage: PREIMAGE }))).toBeInstanceOf(
      MalformedInputError,
    );
    expect(thrown(() => formatL402Authorization({ macaroons: [MAC], preimage: 'x' }))).toBeInstanceOf(
      MalformedInputError,
    );
  });
});

describe('L402 codec on arbitrary input', () => {
  it('never throws anything but MalformedInputError', () => {
    const onlyMalformed = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        if (!(error instanceof MalformedInputError)) throw error;
      }
    };
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.stringMatching(/^(L402|LSAT|l402) [A-Za-z0-9+/=", :\\-]{0,200}$/),
      fc.tuple(fc.constantFrom('L402 ', 'LSAT ', 'Bearer '), fc.string({ maxLength: 200 })).map(([a, b]) => a + b),
    );
    fc.assert(
      fc.property(text, (value) => {
        onlyMalformed(() => parseL402Challenges(value));
        onlyMalformed(() => parseL402Authorization(value));
      }),
      { numRuns: 2_000 },
    );
  });

  it('round-trips any base64 macaroons and preimage', () => {
    const b64 = fc.uint8Array({ minLength: 1, maxLength: 120 }).map((b) => Buffer.from(b).toString('base64'));
    const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
    fc.assert(
      fc.property(fc.array(b64, { minLength: 1, maxLength: 8 }), hex32, (macaroons, preimage) => {
        expect(parseL402Authorization(formatL402Authorization({ macaroons, preimage }))).toEqual({
          scheme: 'L402',
          macaroons,
          preimage,
        });
      }),
    );
  });
});
