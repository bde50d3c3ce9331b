/** The client's capability wallet on its own: per origin and scope, local expiry and count, what each refusal does. */
import { describe, expect, it } from 'vitest';
import type { CapabilityClaims } from '../../src/capabilities/capabilityClaims';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { createCapabilityWallet, type SendRequest } from '../../src/client/capabilityWallet';

const NOW = 1_800_000_000_000;
const claims = (over: Partial<CapabilityClaims> = {}): CapabilityClaims => ({
  v: 1,
  jti: `cap-${Math.random().toString(36).slice(2, 12)}`,
  iss: 'https://a.test',
  sub: 'payer',
  scope: { routes: ['GET /weather/:city'], methods: ['GET'] },
  calls: 5,
  iat: NOW / 1000,
  exp: NOW / 1000 + 60,
  receipt: 'r1',
  rail: 'fake-exact',
  ...over,
});

/** A `send` that records the capability header it was given and answers `answer`. */
function recorder(answer: (capability: string | undefined) => Response) {
  const sent: Array<string | undefined> = [];
  const send: SendRequest = async (headers) => {
    const capability = headers?.['X402-Capability'];
    sent.push(capability);
    return answer(capability);
  };
  return { sent, send };
}

const issued = async (c: CapabilityClaims) => {
  const token = await (await jwsCapabilityToken()).issue(c);
  return { token, response: new Response('ok', { headers: { 'X402-Capability': token } }) };
};

describe('capability wallet', () => {
  it('presents a capability only to its origin, on a path and method its scope covers', async () => {
    const wallet = createCapabilityWallet();
    const { token, response } = await issued(claims());
    wallet.keep('https://a.test/weather/paris', response);
    const { sent, send } = recorder(() => new Response('ok'));
    await wallet.send('https://a.test/weather/oslo', 'GET', send, NOW);
    await wallet.send('https://a.test/weather/oslo', 'HEAD', send, NOW);
    await wallet.send('https://a.test/weather/oslo', 'POST', send, NOW);
    await wallet.send('https://a.test/news', 'GET', send, NOW);
    await wallet.send('https://b.test/weather/oslo', 'GET', send, NOW);
    expect(sent).toEqual([token, token, undefined, undefined, undefined]);
  });

  it('drops a capability it sees expire or reach zero calls, without asking the server', async () => {
    const wallet = createCapabilityWallet();
    wallet.keep('https://a.test/weather/x', (await issued(claims())).response);
    const { sent, send } = recorder(() => new Response('ok', { headers: { 'X402-Capability-Remaining': '0' } }));
    await wallet.send('https://a.test/weather/x', 'GET', send, NOW);
    await wallet.send('https://a.test/weather/x', 'GET', send, NOW);
    expect(sent.map((s) => s !== undefined)).toEqual([true, false]);

    wallet.keep('https://a.test/weather/x', (await issued(claims())).response);
    const later = recorder(() => new Response('ok'));
    await later.send();
    await wallet.send('https://a.test/weather/x', 'GET', later.send, NOW + 60_000);
    expect(later.sent).toEqual([undefined, undefined]);
    expect(wallet.held('https://a.test')).toHaveLength(0);
  });

  it('refusals: 402 drops it and returns the challenge; 400 drops it and resends without; 429 keeps it', async () => {
    const wallet = createCapabilityWallet();
    const refusal = (status: number, reason: string) =>
      new Response('no', { status, headers: { 'X402-Capability-Error': reason } });

    wallet.keep('https://a.test/weather/x', (await issued(claims())).response);
    const limited = recorder(() => refusal(429, 'capability_rate_limited'));
    expect((await wallet.send('https://a.test/weather/x', 'GET', limited.send, NOW)).status).toBe(429);
    expect(wallet.held('https://a.test')).toHaveLength(1);

    const exhausted = recorder(() => refusal(402, 'capability_exhausted'));
    expect((await wallet.send('https://a.test/weather/x', 'GET', exhausted.send, NOW)).status).toBe(402);
    expect(exhausted.sent).toHaveLength(1);
    expect(wallet.held('https://a.test')).toHaveLength(0);

    wallet.keep('https://a.test/weather/x', (await issued(claims())).response);
    const malformed = recorder((capability) =>
      capability ? refusal(400, 'capability_malformed') : new Response('402 next', { status: 402 }),
    );
    expect((await wallet.send('https://a.test/weather/x', 'GET', malformed.send, NOW)).status).toBe(402);
    expect(malformed.sent.map((s) => s !== undefined)).toEqual([true, false]);
    expect(wallet.held('https://a.test')).toHaveLength(0);
  });

  it('ignores a response header that is no capability, and keeps at most maxPerOrigin', async () => {
    const wallet = createCapabilityWallet({ maxPerOrigin: 2 });
    wallet.keep('https://a.test/x', new Response('ok', { headers: { 'X402-Capability': 'junk' } }));
    expect(wallet.held('https://a.test')).toHaveLength(0);
    for (let i = 0; i < 3; i++) wallet.keep('https://a.test/x', (await issued(claims())).response);
    expect(wallet.held('https://a.test')).toHaveLength(2);
  });
});
