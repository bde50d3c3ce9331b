import { describe, expect, it } from 'vitest';
import { resendPayment } from '../../src/client/resendPayment';

/** A send that answers from a script: an Error entry is thrown (a lost answer), a number is a status. */
function scripted(script: Array<number | Error>) {
  let calls = 0;
  const send = async (): Promise<Response> => {
    const step = script[Math.min(calls++, script.length - 1)];
    if (step instanceof Error) throw step;
    return new Response(null, { status: step ?? 500, headers: step === 503 ? { 'Retry-After': '0' } : {} });
  };
  return { send, calls: () => calls };
}

const fast = { delayMs: 1, maxDelayMs: 5 };

describe('resendPayment', () => {
  it('re-sends after lost answers until one arrives', async () => {
    const s = scripted([new TypeError('fetch failed'), new TypeError('socket hang up'), 200]);
    expect((await resendPayment(s.send, fast)).status).toBe(200);
    expect(s.calls()).toBe(3);
  });

  it('re-sends a 503 (settlement pending) honouring Retry-After, then answers the receipt-bearing 200', async () => {
    const s = scripted([503, 503, 200]);
    expect((await resendPayment(s.send, fast)).status).toBe(200);
    expect(s.calls()).toBe(3);
  });

  it('answers the last 503 when the attempts are used up, and throws the last error when nothing answered', async () => {
    const pending = scripted([503]);
    expect((await resendPayment(pending.send, { ...fast, attempts: 3 })).status).toBe(503);
    expect(pending.calls()).toBe(3);
    const down = scripted([new TypeError('connect ECONNREFUSED')]);
    await expect(resendPayment(down.send, { ...fast, attempts: 2 })).rejects.toThrow('ECONNREFUSED');
    expect(down.calls()).toBe(2);
  });

  it('never re-sends a definite answer (200, 402, 400, 502)', async () => {
    for (const status of [200, 402, 400, 502]) {
      const s = scripted([status, 200]);
      expect((await resendPayment(s.send, fast)).status).toBe(status);
      expect(s.calls()).toBe(1);
    }
  });

  it('false sends once; an abort stops the waiting', async () => {
    const once = scripted([503, 200]);
    expect((await resendPayment(once.send, false)).status).toBe(503);
    expect(once.calls()).toBe(1);
    const controller = new AbortController();
    const s = scripted([new TypeError('fetch failed'), 200]);
    const pending = resendPayment(s.send, { delayMs: 10_000, maxDelayMs: 10_000 }, controller.signal);
    controller.abort(new Error('caller gave up'));
    await expect(pending).rejects.toThrow('caller gave up');
    expect(s.calls()).toBe(1);
  });
});

describe('payingFetch with a fetch wrapper that clones responses', () => {
  it('pays without hanging on the 402 it lets go (an unread clone keeps that body locked)', async () => {
    const { createReceiptSigner, paywall, payingFetch } = await import('../../src/index');
    const { createFakeLedger, fakeRail } = await import('./support/fakeRail');
    const ledger = createFakeLedger();
    const rail = fakeRail({ ledger, payTo: 'merchant' });
    const wallet = ledger.open('alice', 10_000n);
    const pw = paywall(
      { 'GET /x': { accepts: [{ rail: 'fake-exact', amount: 100n }] } },
      { rails: [rail], signer: await createReceiptSigner() },
    );
    const handler = pw.wrap(() => new Response('ok'));
    const clones: Response[] = [];
    const cloning = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
      const response = await handler(new Request(input, init));
      clones.push(response.clone());
      return response;
    };
    const answer = await Promise.race([
      payingFetch(cloning, { adapters: [rail], wallets: [wallet], verifyReceipts: false })('https://shop.test/x'),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 3_000)),
    ]);
    expect(answer).not.toBe('hung');
    expect(answer !== 'hung' && answer.status).toBe(200);
    expect(ledger.balanceOf('merchant')).toBe(100n);
  });
});
