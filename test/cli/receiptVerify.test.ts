import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiptSigner, type Receipt, type SignedReceipt } from '../../src/core/receipt';
import { jsonOf, runCli } from './runCli';

const receipt: Receipt = {
  v: 1,
  id: 'rcpt-cli-1',
  issuer: 'https://api.example.com',
  rail: 'evm-eip3009',
  scheme: 'exact',
  network: 'eip155:31337',
  asset: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  amount: '10000',
  payer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  payee: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
  reference: `0x${'ab'.repeat(32)}`,
  request: { method: 'GET', url: 'https://api.example.com/report', bodyHash: '' },
  requirementsHash: 'uJJfqLwpxUdcgq5aMW_0PzZB75I3yQsBKoWrrGaAWlY',
  challenge: 'xI-6NX1khIzj-rJY',
  status: 'settled',
  issuedAt: '2026-11-30T10:00:00.000Z',
  settledAt: '2026-11-30T10:00:00.000Z',
};

describe.concurrent('x402-rails receipt verify', () => {
  let dir: string;
  let signed: SignedReceipt;
  const file = (name: string, value: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'x402-cli-receipt-'));
    const signer = await createReceiptSigner();
    signed = await signer.sign(receipt);
    file('jwks.json', signer.jwks());
    file('other-jwks.json', (await createReceiptSigner()).jwks());
    file('receipt.json', signed);
    file('tampered.json', { ...signed, amount: '1' });
    file('pay-output.json', { status: 200, paid: true, signedReceipt: signed });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a receipt signed by a key of the JWKS file is valid: exit 0, every field printed', async () => {
    const [text, json] = await Promise.all([
      runCli(['receipt', 'verify', join(dir, 'receipt.json'), '--jwks', join(dir, 'jwks.json')]),
      runCli(['receipt', 'verify', join(dir, 'receipt.json'), '--jwks', join(dir, 'jwks.json'), '--json']),
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Valid receipt');
    expect(text.stdout).toMatch(/amount\s+10000\n/);
    expect(text.stdout).toContain(receipt.reference);
    expect(json.code).toBe(0);
    expect(jsonOf(json)).toEqual({ valid: true, receipt });
  });

  it('a tampered receipt is invalid: exit 1 with the reason', async () => {
    const [text, json] = await Promise.all([
      runCli(['receipt', 'verify', join(dir, 'tampered.json'), '--jwks', join(dir, 'jwks.json')]),
      runCli(['receipt', 'verify', join(dir, 'tampered.json'), '--jwks', join(dir, 'jwks.json'), '--json']),
    ]);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/Invalid receipt: .*signature/i);
    expect(json.code).toBe(1);
    expect(jsonOf(json)).toMatchObject({ valid: false, code: 'RECEIPT__INVALID' });
  });

  it("a receipt checked against another issuer's JWKS is invalid", async () => {
    const run = await runCli([
      'receipt',
      'verify',
      join(dir, 'receipt.json'),
      '--jwks',
      join(dir, 'other-jwks.json'),
      '--json',
    ]);
    expect(run.code).toBe(1);
    expect(jsonOf(run)).toMatchObject({ valid: false, code: 'RECEIPT__INVALID' });
  });

  it('binds to the request and issuer when asked: another URL is refused, the right one accepted', async () => {
    const jwks = join(dir, 'jwks.json');
    const [wrongUrl, right] = await Promise.all([
      runCli([
        'receipt',
        'verify',
        join(dir, 'receipt.json'),
        '--jwks',
        jwks,
        '--url',
        'https://api.example.com/other',
        '--json',
      ]),
      runCli([
        'receipt',
        'verify',
        join(dir, 'receipt.json'),
        '--jwks',
        jwks,
        '--url',
        receipt.request.url,
        '--method',
        'get',
        '--issuer',
        receipt.issuer,
        '--json',
      ]),
    ]);
    expect(wrongUrl.code).toBe(1);
    expect(jsonOf(wrongUrl)).toMatchObject({ valid: false, code: 'RECEIPT__INVALID' });
    expect(right.code).toBe(0);
  });

  it('reads `pay --json` output and stdin', async () => {
    const [wrapped, stdin] = await Promise.all([
      runCli(['receipt', 'verify', join(dir, 'pay-output.json'), '--jwks', join(dir, 'jwks.json'), '--json']),
      runCli(['receipt', 'verify', '-', '--jwks', join(dir, 'jwks.json'), '--json'], { input: JSON.stringify(signed) }),
    ]);
    expect(jsonOf(wrapped)).toEqual({ valid: true, receipt });
    expect(jsonOf(stdin)).toEqual({ valid: true, receipt });
  });

  it('a missing or non-JSON receipt or JWKS fails with exit 1 and says which', async () => {
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{nope');
    const [missing, badReceipt, badJwks] = await Promise.all([
      runCli(['receipt', 'verify', join(dir, 'absent.json'), '--jwks', join(dir, 'jwks.json')]),
      runCli(['receipt', 'verify', notJson, '--jwks', join(dir, 'jwks.json')]),
      runCli(['receipt', 'verify', join(dir, 'receipt.json'), '--jwks', join(dir, 'receipt.json')]),
    ]);
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.stderr).toContain('Cannot read the receipt file');
    expect(badReceipt).toMatchObject({ code: 1 });
    expect(badReceipt.stderr).toContain('is not valid JSON');
    expect(badJwks).toMatchObject({ code: 1 });
    expect(badJwks.stderr).toContain('is not a JSON Web Key Set');
  });
});
