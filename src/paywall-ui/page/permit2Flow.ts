import type { PaymentRequirements } from '../../protocol/schemas';
import type { OfferView } from '../pageData';
import { toHex } from './bytes';
import { connectEvm, readUint, short, signTypedData, word, type ConnectedEvmWallet } from './evmFlow';
import { PageFailure } from './failures';

/** Permit2's canonical address (the adapter's `PERMIT2_ADDRESS`; a unit test keeps them equal). */
export const PAGE_PERMIT2_ADDRESS = '0x000000000022D473030F116dDEE9F6B43aC78BA3';
/** The canonical `x402ExactPermit2Proxy` (the adapter's `X402_EXACT_PERMIT2_PROXY_ADDRESS`). */
export const PAGE_EXACT_PROXY_ADDRESS = '0x402085c248EeA27D92E8b30b2C58ed07f9E20001';
/** The canonical `x402UptoPermit2Proxy` (the adapter's `X402_UPTO_PERMIT2_PROXY_ADDRESS`). */
export const PAGE_UPTO_PROXY_ADDRESS = '0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002';

const SPONSORING = 'eip2612GasSponsoring';

/** What a Permit2 flow hands the page: the x402 payload and the PaymentPayload extensions beside it. */
export type Permit2Payment = { payload: Record<string, unknown>; extensions?: Record<string, unknown> };

const DOMAIN_TYPES = {
  permit2: [
    { name: 'name', type: 'string' },
    { name: 'chainId', type: 'uint256' },
    { name: 'verifyingContract', type: 'address' },
  ],
  token: [
    { name: 'name', type: 'string' },
    { name: 'version', type: 'string' },
    { name: 'chainId', type: 'uint256' },
    { name: 'verifyingContract', type: 'address' },
  ],
};

/**
 * Pays an x402 `exact` Permit2 offer (`extra.assetTransferMethod = "permit2"`) or an `upto` offer from the injected
 * wallet, as the x402 client does: the wallet signs a Permit2 `PermitWitnessTransferFrom` (EIP-712, Permit2's
 * domain) of the offer's amount — for `upto` the maximum — to the canonical x402 proxy, the witness binding the payee
 * (`to`) and for `upto` the facilitator that may settle it. When the payer has not approved Permit2 for the token
 * and the 402 declares `eip2612GasSponsoring`, the wallet also signs an EIP-2612 permit of that amount to Permit2,
 * which the server submits with the settlement (the payer pays no gas); without the extension the page says an
 * approval is needed and asks for nothing.
 */
export async function payPermit2(
  offer: PaymentRequirements,
  view: OfferView,
  declared: Record<string, unknown> | undefined,
  progress: (text: string) => void,
): Promise<Permit2Payment> {
  const upto = offer.scheme === 'upto';
  const facilitator = offer.extra.facilitatorAddress;
  if (upto && typeof facilitator !== 'string')
    throw new PageFailure('This offer names no facilitator to settle it; pay it with an x402 client.');
  const wallet = await connectEvm(offer, view, progress);
  const amount = BigInt(offer.amount);
  const allowance = await readUint(
    wallet.provider,
    offer.asset,
    `0xdd62ed3e${word(wallet.from)}${word(PAGE_PERMIT2_ADDRESS)}`,
    'allowance check',
  );
  const sponsoring = declared?.[SPONSORING];
  const needsPermit = allowance < amount;
  if (needsPermit && (sponsoring === undefined || typeof offer.extra.name !== 'string'))
    throw new PageFailure(
      `Paying with Permit2 needs a one-time approval of Permit2 (${short(PAGE_PERMIT2_ADDRESS)}) for this token in your wallet, and this server offers no gas-free permit. Approve it in your wallet, or choose another way to pay. Nothing was charged.`,
    );
  const deadline = String(Math.floor(Date.now() / 1000) + offer.maxTimeoutSeconds);
  const nonce = BigInt(`0x${toHex(crypto.getRandomValues(new Uint8Array(32)))}`).toString();
  const witness = upto ? { to: offer.payTo, facilitator, validAfter: '0' } : { to: offer.payTo, validAfter: '0' };
  const permit = {
    permitted: { token: offer.asset, amount: offer.amount },
    spender: upto ? PAGE_UPTO_PROXY_ADDRESS : PAGE_EXACT_PROXY_ADDRESS,
    nonce,
    deadline,
    witness,
  };
  progress(
    `Confirm the Permit2 payment of ${view.amountText} in your wallet${needsPermit ? ' (1 of 2: the payment)' : ''}…`,
  );
  const signature = await signTypedData(wallet, {
    types: {
      EIP712Domain: DOMAIN_TYPES.permit2,
      PermitWitnessTransferFrom: [
        { name: 'permitted', type: 'TokenPermissions' },
        { name: 'spender', type: 'address' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
        { name: 'witness', type: 'Witness' },
      ],
      TokenPermissions: [
        { name: 'token', type: 'address' },
        { name: 'amount', type: 'uint256' },
      ],
      Witness: [
        { name: 'to', type: 'address' },
        ...(upto ? [{ name: 'facilitator', type: 'address' }] : []),
        { name: 'validAfter', type: 'uint256' },
      ],
    },
    primaryType: 'PermitWitnessTransferFrom',
    domain: { name: 'Permit2', chainId: wallet.chainId, verifyingContract: PAGE_PERMIT2_ADDRESS },
    message: permit,
  });
  const payload = { signature, permit2Authorization: { from: wallet.from, ...permit } };
  if (!needsPermit) return { payload };
  progress(
    `Confirm the one-time permit for Permit2 to move ${view.amountText} in your wallet (2 of 2; no gas, the server submits it)…`,
  );
  return { payload, extensions: { [SPONSORING]: await sponsoringPermit(wallet, offer, deadline, sponsoring) } };
}

/** The `eip2612GasSponsoring` extension: the server's declaration echoed, with a signed EIP-2612 permit to Permit2. */
async function sponsoringPermit(
  wallet: ConnectedEvmWallet,
  offer: PaymentRequirements,
  deadline: string,
  declared: unknown,
): Promise<Record<string, unknown>> {
  const permitNonce = await readUint(wallet.provider, offer.asset, `0x7ecebe00${word(wallet.from)}`, 'permit nonce');
  const message = {
    owner: wallet.from,
    spender: PAGE_PERMIT2_ADDRESS,
    value: offer.amount,
    nonce: permitNonce.toString(),
    deadline,
  };
  const signature = await signTypedData(
    wallet,
    {
      types: {
        EIP712Domain: DOMAIN_TYPES.token,
        Permit: [
          { name: 'owner', type: 'address' },
          { name: 'spender', type: 'address' },
          { name: 'value', type: 'uint256' },
          { name: 'nonce', type: 'uint256' },
          { name: 'deadline', type: 'uint256' },
        ],
      },
      primaryType: 'Permit',
      domain: {
        name: String(offer.extra.name),
        version: String(offer.extra.version ?? '1'),
        chainId: wallet.chainId,
        verifyingContract: offer.asset,
      },
      message,
    },
    'permit signature',
  );
  const record = isRecord(declared) ? declared : {};
  const info = isRecord(record.info) ? record.info : {};
  return {
    ...record,
    info: {
      ...info,
      from: wallet.from,
      asset: offer.asset,
      spender: PAGE_PERMIT2_ADDRESS,
      amount: offer.amount,
      nonce: permitNonce.toString(),
      deadline,
      signature,
      version: '1',
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
