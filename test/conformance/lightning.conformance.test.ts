/**
 * The Lightning rail (L402) through the conformance kit on the Lightning devnet (started through
 * `x402-rails/devnet`): bob's node is paid, alice pays, carol is the second payer.
 *
 * A Lightning payment is the preimage of the offer's invoice plus the server's macaroon; the payer signs nothing
 * the kit could alter. So the bad payments are real payments of something else: a cheaper invoice of the same
 * node (wrong amount), an invoice of another node (wrong payee), a token bought from the same service deployed on
 * another network (wrong network), and a token whose validity has ended (expired).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createInvoice, getInvoice, pay, type AuthenticatedLnd } from 'ln-service';
import { lightningClient, lightningServer, lightningWallet } from '../../adapters/lightning/index';
import { startDevnets } from '../../fixtures/index';
import { addFirstPartyCaveat, macaroonFromBase64, macaroonToBase64 } from '../../src/protocol/macaroon';
import { bitcoinNetworks, type RailPayload, type Receipt } from '../../src/index';
import { describeRailConformance, type BadPaymentHook, type RailConformanceSetup } from '../../src/testing/index';

const PRICE = 21_000n;

/** alice pays a fresh invoice of `payee`'s node for `msat` and presents its preimage with the offer's own macaroon. */
function payOtherInvoice(payer: AuthenticatedLnd, payee: AuthenticatedLnd, msat: bigint): BadPaymentHook {
  return async (offer): Promise<RailPayload> => {
    const invoice = await createInvoice({ lnd: payee, mtokens: msat.toString() });
    const { secret } = await pay({ lnd: payer, request: invoice.request, max_fee_mtokens: '1000' });
    return { preimage: secret, macaroon: String(offer.extra.macaroon) };
  };
}

/** Throws unless the proof opens the reference and bob's node shows that invoice settled for the amount. */
async function checkInvoiceSettled(bob: AuthenticatedLnd, receipt: Receipt): Promise<void> {
  const hash = createHash('sha256')
    .update(Buffer.from(receipt.proof ?? '', 'hex'))
    .digest('hex');
  if (hash !== receipt.reference) throw new Error('receipt.proof is not the preimage of receipt.reference.');
  const invoice = await getInvoice({ lnd: bob, id: receipt.reference });
  if (!invoice.is_confirmed || invoice.received_mtokens !== receipt.amount)
    throw new Error(`Invoice ${receipt.reference} is not settled for ${receipt.amount} msat.`);
}

await describeRailConformance('Lightning L402 on the LND-protocol devnet', async (): Promise<RailConformanceSetup> => {
  const devnets = await startDevnets({ evm: false, solana: false, lightning: true });
  const devnet = devnets.lightning;
  const { alice, bob, carol } = devnet.nodes;
  const rootKey = new Uint8Array(randomBytes(32));
  const server = lightningServer({ lnd: bob.lnd, network: devnet.network, rootKey });
  // The same service deployed on testnet with the same root key (the strongest case): its tokens verify, but for
  // invoices the regtest offer never named.
  const onTestnet = lightningServer({ lnd: bob.lnd, network: bitcoinNetworks.testnet, rootKey });
  return {
    server,
    client: lightningClient({ maxFeeMsat: 1_000n }),
    wallet: lightningWallet(alice.lnd),
    secondWallet: lightningWallet(carol.lnd),
    offer: { amount: PRICE },
    balances: async () => ({ payer: devnet.channelBalance('alice'), payee: devnet.channelBalance('bob') }),
    // The payer of a Lightning payment is unknown to the payee; the receipt names the payee node.
    payee: bob.publicKey,
    checkSettlement: (receipt) => checkInvoiceSettled(bob.lnd, receipt),
    hooks: {
      payWrongAmount: payOtherInvoice(alice.lnd, bob.lnd, PRICE - 1_000n),
      payToOther: payOtherInvoice(alice.lnd, carol.lnd, PRICE),
      payOnOtherNetwork: async (offer, kit) => {
        const request = { method: kit.request.method, url: kit.request.url, bodyHash: '' };
        const testnetOffer = await onTestnet.quote(
          { rail: server.id, amount: offer.amount },
          { request, resource: { url: kit.request.url }, now: Date.now() },
        );
        return kit.pay(testnetOffer);
      },
      // The token's validity (its valid_until caveat) has ended: the holder's copy carries an expiry in the past,
      // which a holder may add and the server must honour like its own.
      payExpired: async (offer, kit) => {
        const payload = await kit.pay(offer);
        const macaroon = macaroonFromBase64(String(payload.macaroon));
        return {
          ...payload,
          macaroon: macaroonToBase64(
            addFirstPartyCaveat(macaroon, `x402_valid_until=${Math.floor(Date.now() / 1000) - 60}`),
          ),
        };
      },
    },
    skip: { wrongAsset: 'Lightning offers are priced only in msat: the rail has no other asset to pay in.' },
    expectReasons: {
      wrongAmount: 'invalid_preimage',
      wrongPayee: 'invalid_preimage',
      wrongNetwork: 'invalid_macaroon',
      expired: 'macaroon_expired',
      tamperedPayload: 'invalid_macaroon',
      malformedPayment: 'invalid_payload',
      // Under its own offer the challenge is bound to the first route; under the other route's offer the macaroon
      // names another invoice than that offer.
      crossRouteReplay: ['challenge_invalid', 'invalid_macaroon'],
    },
    protocols: {
      // Plain L402: the same token (macaroon + preimage) in `Authorization: L402`; the hooks' payments are tokens too.
      l402: {
        skip: {
          // Through x402 the echoed offer names the network; an L402 token names none (no caveat for it): a token of
          // this root key for an invoice this node issued was paid on this node's own network.
          wrongNetwork:
            'An L402 token names no network: a token signed with this root key for an invoice of this node was paid on its network.',
        },
        // The token's route caveat names the first route.
        expectReasons: { crossRouteReplay: 'caveat_failed' },
      },
      // MPP `lightning`/`charge`: the credential is the preimage for the challenge's invoice (any macaroon a hook
      // returns is ignored); the challenge's expiry is judged by the paywall's clock.
      mpp: {
        expectReasons: {
          wrongNetwork: 'invalid_preimage',
          expired: 'challenge_expired',
          tamperedPayload: 'invalid_preimage',
          replayed: ['challenge_consumed', 'invalid_preimage'],
          crossRouteReplay: ['challenge_invalid', 'invalid_preimage'],
        },
      },
    },
    teardown: () => devnets.stop(),
  };
});
