import {
  decodeFunctionData,
  hashTypedData,
  parseAbi,
  parseSignature,
  type Address,
  type Hash,
  type Hex,
  type TypedDataDefinition,
} from 'viem';
import type { PaymentRequirements, VerifyResult } from '../../src/index';
import { exactTokenAbi, permitTypes } from './abi';
import { read, rpcUnreachable, type EvmSettler } from './chain';
import type { Eip2612GasSponsoringInfo, Permit2Payload, UptoPermit2Payload } from './payloads';
import {
  PERMIT2_ADDRESS,
  exactPermit2WitnessTypes,
  permit2Abi,
  uptoPermit2WitnessTypes,
  x402ExactPermit2ProxyAbi,
  x402UptoPermit2ProxyAbi,
} from './permit2Abi';
import { checkCommon, requiredValiditySeconds, type EvmTokenConfig } from './serverCommon';
import { typedDataSignedBy } from './recoverTypedDataSigner';
import { sameAddress } from './requirements';

/** The PaymentPayload extension key of a signed EIP-2612 approval to Permit2 (x402 standard). */
export const EIP2612_GAS_SPONSORING = 'eip2612GasSponsoring';

/** What the 402 declares for `eip2612GasSponsoring` (as the official `declareEip2612GasSponsoringExtension()`). */
export function declareEip2612GasSponsoring(): Record<string, unknown> {
  return {
    [EIP2612_GAS_SPONSORING]: {
      info: {
        description: 'The facilitator accepts EIP-2612 gasless Permit to `Permit2` canonical contract.',
        version: '1',
      },
      schema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: {
          from: { type: 'string', pattern: '^0x[a-fA-F0-9]{40}$' },
          asset: { type: 'string', pattern: '^0x[a-fA-F0-9]{40}$' },
          spender: { type: 'string', pattern: '^0x[a-fA-F0-9]{40}$' },
          amount: { type: 'string', pattern: '^[0-9]+$' },
          nonce: { type: 'string', pattern: '^[0-9]+$' },
          deadline: { type: 'string', pattern: '^[0-9]+$' },
          signature: { type: 'string', pattern: '^0x[a-fA-F0-9]+$' },
          version: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)*$' },
        },
        required: ['from', 'asset', 'spender', 'amount', 'nonce', 'deadline', 'signature', 'version'],
      },
    },
  };
}

/** Either Permit2 payload (`exact` or `upto`). */
export type AnyPermit2Payload = Permit2Payload | UptoPermit2Payload;
type Authorization = AnyPermit2Payload['permit2Authorization'];

/** The EIP-712 typed data a Permit2 witness transfer signs (Permit2's domain at its canonical address). */
export function permit2TypedData(a: Authorization, chainId: number) {
  const domain = { name: 'Permit2', chainId, verifyingContract: PERMIT2_ADDRESS } as const;
  const common = {
    permitted: { token: a.permitted.token, amount: BigInt(a.permitted.amount) },
    spender: a.spender,
    nonce: BigInt(a.nonce),
    deadline: BigInt(a.deadline),
  };
  if ('facilitator' in a.witness) {
    return {
      domain,
      types: uptoPermit2WitnessTypes,
      primaryType: 'PermitWitnessTransferFrom' as const,
      message: {
        ...common,
        witness: { to: a.witness.to, facilitator: a.witness.facilitator, validAfter: BigInt(a.witness.validAfter) },
      },
    };
  }
  return {
    domain,
    types: exactPermit2WitnessTypes,
    primaryType: 'PermitWitnessTransferFrom' as const,
    message: { ...common, witness: { to: a.witness.to, validAfter: BigInt(a.witness.validAfter) } },
  };
}

/** Permit2's nonce space is per owner (every token and spender): the chain-level id of a Permit2 payment. */
export function permit2PaymentId(chainId: number, a: Authorization): string {
  return `${chainId}:permit2:${a.from.toLowerCase()}:${BigInt(a.nonce).toString()}`;
}

/** The settle arguments shared by both proxies: the permit, and the witness as signed. */
export function permitArgument(a: Authorization) {
  return {
    permitted: { token: a.permitted.token, amount: BigInt(a.permitted.amount) },
    nonce: BigInt(a.nonce),
    deadline: BigInt(a.deadline),
  };
}

/** The (v, r, s) struct the proxies take for the EIP-2612 permit. */
export function eip2612PermitArgument(info: Eip2612GasSponsoringInfo) {
  const { v, r, s, yParity } = parseSignature(info.signature);
  return { value: BigInt(info.amount), deadline: BigInt(info.deadline), r, s, v: Number(v ?? BigInt(yParity + 27)) };
}

/**
 * The offline checks of a Permit2 payment (no RPC): payee (the witness's `to`), amount (exact: equal; upto: the
 * maximum equals the offer), token, spender (the canonical proxy), deadline with time left to serve and settle,
 * `validAfter` reached, and the payer's EIP-712 signature over Permit2's domain (65 bytes, low s).
 *
 * @example const refusal = await checkPermit2Offline(payload, req, { network, chainId, token, spender, now });
 */
export async function checkPermit2Offline(
  { permit2Authorization: a, signature }: AnyPermit2Payload,
  req: PaymentRequirements,
  p: {
    network: string;
    chainId: number;
    token: EvmTokenConfig;
    spender: Address;
    now: number | null;
    settleWindowSeconds?: number;
  },
): Promise<{ reason: string; message: string } | undefined> {
  const common = checkCommon(req, p.network, p.token, { to: a.witness.to, value: a.permitted.amount });
  if (common) return common;
  if (!sameAddress(a.permitted.token, req.asset))
    return { reason: 'asset_mismatch', message: 'The permit is for another token than the offer.' };
  if (!sameAddress(a.spender, p.spender))
    return {
      reason: 'invalid_permit2_spender',
      message: `The permit must name the x402 Permit2 proxy ${p.spender} as spender.`,
    };
  if (p.now !== null) {
    const now = BigInt(Math.floor(p.now / 1000));
    // A permit outliving the offer would widen the window its settlement is searched in (findPermit2Settlement).
    if (BigInt(a.deadline) > now + BigInt(req.maxTimeoutSeconds) + PERMIT2_CLOCK_SLACK_SECONDS)
      return {
        reason: 'permit2_deadline_too_far',
        message: `The permit deadline is beyond the offer's maxTimeoutSeconds (${req.maxTimeoutSeconds} s); sign one that ends within it.`,
      };
    if (BigInt(a.deadline) < now + requiredValiditySeconds(req, p.settleWindowSeconds))
      return {
        reason: 'expired',
        message: 'The permit deadline has passed or is too close to settle after the service; sign a new one.',
      };
    if (BigInt(a.witness.validAfter) > now)
      return { reason: 'not_yet_valid', message: 'The permit is not valid yet (witness.validAfter is in the future).' };
  }
  return typedDataSignedBy({ ...permit2TypedData(a, p.chainId), signature }, a.from);
}

const erc1271Abi = parseAbi(['function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)']);

/**
 * The signature check as Permit2 makes it, after {@link checkPermit2Offline}: an owner without code is checked by
 * ECDSA (the offline refusal stands); an owner with code (a smart wallet, an EIP-7702 delegated account) is asked
 * with ERC-1271 `isValidSignature(digest, signature)`, the signature exactly as signed, whatever its form, and its
 * answer alone decides (Permit2 does not try ECDSA for it). Refusals other than the signature's stand either way.
 *
 * @example const refusal = await checkPermit2Signer('evm-permit2', settler, payload, chainId, await checkPermit2Offline(…));
 */
export async function checkPermit2Signer(
  rail: string,
  settler: EvmSettler,
  { permit2Authorization: a, signature }: AnyPermit2Payload,
  chainId: number,
  offline: { reason: string; message: string } | undefined,
): Promise<{ reason: string; message: string } | undefined> {
  if (offline && offline.reason !== 'invalid_signature' && offline.reason !== 'non_canonical_signature') return offline;
  const code = await read(rail, "the payer's code", () => settler.publicClient.getCode({ address: a.from }));
  if (code === undefined || code === '0x') return offline;
  const typed: TypedDataDefinition = permit2TypedData(a, chainId);
  const digest = hashTypedData(typed);
  const answer = await read(rail, "the payer account's ERC-1271 answer", () =>
    settler.publicClient
      .readContract({ address: a.from, abi: erc1271Abi, functionName: 'isValidSignature', args: [digest, signature] })
      .catch((error: unknown) => (rpcUnreachable(error) ? Promise.reject(error) : undefined)),
  );
  if (answer?.toLowerCase() === '0x1626ba7e') return undefined;
  return {
    reason: 'invalid_signature',
    message: `The payer ${a.from} is a contract account; Permit2 asks it to approve the signature (ERC-1271) and it does not.`,
  };
}

/** The payer's Permit2 state: nonce used, token balance, allowance to Permit2, EIP-2612 nonce. */
export type Permit2State = { nonceUsed: boolean; balance: bigint; allowance: bigint; permitNonce: bigint | undefined };

/** Reads {@link Permit2State} in one round of calls (the EIP-2612 nonce only when `withPermitNonce`). */
export async function readPermit2State(
  rail: string,
  settler: EvmSettler,
  token: Address,
  a: Authorization,
  withPermitNonce: boolean,
): Promise<Permit2State> {
  const nonce = BigInt(a.nonce);
  const [bitmap, balance, allowance, permitNonce] = await read(rail, 'Permit2 nonce, balance and allowance', () =>
    Promise.all([
      settler.publicClient.readContract({
        address: PERMIT2_ADDRESS,
        abi: permit2Abi,
        functionName: 'nonceBitmap',
        args: [a.from, nonce >> 8n],
      }),
      settler.publicClient.readContract({
        address: token,
        abi: exactTokenAbi,
        functionName: 'balanceOf',
        args: [a.from],
      }),
      settler.publicClient.readContract({
        address: token,
        abi: exactTokenAbi,
        functionName: 'allowance',
        args: [a.from, PERMIT2_ADDRESS],
      }),
      withPermitNonce
        ? settler.publicClient.readContract({
            address: token,
            abi: exactTokenAbi,
            functionName: 'nonces',
            args: [a.from],
          })
        : Promise.resolve(undefined),
    ]),
  );
  return { nonceUsed: ((bitmap >> (nonce & 0xffn)) & 1n) === 1n, balance, allowance, permitNonce };
}

/**
 * The state checks of a Permit2 payment, in the order a payer can act on: nonce unused, balance, and Permit2's
 * allowance, or a valid `eip2612GasSponsoring` permit that grants it (owner = payer, token, spender = Permit2,
 * value = the permitted amount as the proxy requires, deadline, current EIP-2612 nonce, signature over the token's
 * domain). `sponsoring: false` refuses a permit (the rail does not submit them).
 */
export async function checkPermit2State(
  payload: AnyPermit2Payload,
  state: Permit2State,
  p: { chainId: number; token: EvmTokenConfig; now: number; sponsoring: boolean },
): Promise<{ reason: string; message: string } | undefined> {
  const a = payload.permit2Authorization;
  const amount = BigInt(a.permitted.amount);
  if (state.nonceUsed) return { reason: 'nonce_used', message: 'This Permit2 nonce was already used or invalidated.' };
  if (state.balance < amount)
    return { reason: 'insufficient_funds', message: `The payer holds ${state.balance}, less than ${amount}.` };
  if (state.allowance >= amount) return undefined;
  const info = payload.extensions?.eip2612GasSponsoring?.info;
  if (!info)
    return {
      reason: 'permit2_allowance_required',
      message: `The payer has not approved Permit2 (${PERMIT2_ADDRESS}) for this token; approve it once, or sign an EIP-2612 permit (eip2612GasSponsoring) where offered.`,
    };
  if (!p.sponsoring)
    return {
      reason: 'permit2_allowance_required',
      message: 'This server does not submit EIP-2612 permits; approve Permit2 for this token once.',
    };
  return checkSponsoringPermit(info, a, state, p);
}

async function checkSponsoringPermit(
  info: Eip2612GasSponsoringInfo,
  a: Authorization,
  state: Permit2State,
  p: { chainId: number; token: EvmTokenConfig; now: number },
): Promise<{ reason: string; message: string } | undefined> {
  if (!sameAddress(info.from, a.from))
    return { reason: 'eip2612_from_mismatch', message: 'The EIP-2612 permit is not the payer’s.' };
  if (!sameAddress(info.asset, p.token.address))
    return { reason: 'eip2612_asset_mismatch', message: 'The EIP-2612 permit is for another token.' };
  if (!sameAddress(info.spender, PERMIT2_ADDRESS))
    return {
      reason: 'eip2612_spender_not_permit2',
      message: `The EIP-2612 permit must name Permit2 (${PERMIT2_ADDRESS}) as spender.`,
    };
  if (BigInt(info.amount) !== BigInt(a.permitted.amount))
    return {
      reason: 'permit2_2612_amount_mismatch',
      message: 'The EIP-2612 permit value must equal the Permit2 permitted amount.',
    };
  if (BigInt(info.deadline) < BigInt(Math.floor(p.now / 1000) + 6))
    return { reason: 'eip2612_deadline_expired', message: 'The EIP-2612 permit has expired or expires too soon.' };
  if (state.permitNonce !== undefined && BigInt(info.nonce) !== state.permitNonce)
    return {
      reason: 'eip2612_nonce_mismatch',
      message: `The EIP-2612 permit nonce ${info.nonce} is not the payer's current nonce ${state.permitNonce}.`,
    };
  const domain = {
    name: p.token.name,
    version: p.token.version,
    chainId: p.chainId,
    verifyingContract: p.token.address,
  };
  const message = {
    owner: info.from,
    spender: info.spender,
    value: BigInt(info.amount),
    nonce: BigInt(info.nonce),
    deadline: BigInt(info.deadline),
  };
  const refusal = await typedDataSignedBy(
    { domain, types: permitTypes, primaryType: 'Permit', message, signature: info.signature },
    info.from,
  );
  return refusal
    ? { reason: 'eip2612_invalid_signature', message: `The EIP-2612 permit: ${refusal.message}` }
    : undefined;
}

/** A refusal as a VerifyResult. */
export function refused(refusal: { reason: string; message: string }, payer: string): VerifyResult {
  return { isValid: false, reason: refusal.reason, message: refusal.message, payer };
}

/** Slack, seconds, allowed between the payer's clock and the chain's when a permit's lifetime is bounded by its offer. */
export const PERMIT2_CLOCK_SLACK_SECONDS = 60n;

/**
 * The blocks a settlement of `a` can be in: mined at or after `validAfter` and after the permit was signed (its
 * `deadline` less `lifetimeSeconds`, the offer's `maxTimeoutSeconds`, which verify holds it to), and at or before its
 * `deadline` (Permit2 refuses it after). Found by binary search over block timestamps (about log2(head) header
 * reads), so a lookup never scans the chain from block 0. Undefined when no block lies in the window yet.
 *
 * @example const blocks = await permit2SettlementBlocks('evm-upto', settler, a, req.maxTimeoutSeconds); // { fromBlock, toBlock }
 */
export async function permit2SettlementBlocks(
  rail: string,
  settler: EvmSettler,
  a: Authorization,
  lifetimeSeconds: number,
): Promise<{ fromBlock: bigint; toBlock: bigint } | undefined> {
  const deadline = BigInt(a.deadline);
  const signedBy = deadline - BigInt(lifetimeSeconds) - PERMIT2_CLOCK_SLACK_SECONDS;
  const validAfter = BigInt(a.witness.validAfter);
  const notBefore = validAfter > signedBy ? validAfter : signedBy;
  const timestampOf = (blockNumber: bigint) =>
    read(rail, 'a block header', () => settler.publicClient.getBlock({ blockNumber })).then((b) => b.timestamp);
  const head = await read(rail, 'the chain head', () => settler.publicClient.getBlock({ blockTag: 'latest' }));
  /** The first block whose timestamp is ≥ `t` (head + 1 when none is). */
  const firstAtOrAfter = async (t: bigint): Promise<bigint> => {
    if (head.timestamp < t) return head.number + 1n;
    let lo = 0n;
    let hi = head.number;
    while (lo < hi) {
      const mid = (lo + hi) / 2n;
      if ((await timestampOf(mid)) >= t) hi = mid;
      else lo = mid + 1n;
    }
    return lo;
  };
  const fromBlock = await firstAtOrAfter(notBefore);
  const toBlock = (await firstAtOrAfter(deadline + 1n)) - 1n;
  return fromBlock <= toBlock ? { fromBlock, toBlock } : undefined;
}

/**
 * The transaction that settled this Permit2 payment through `proxy`, when its nonce is used: a token transfer from
 * the payer to the witness's `to` whose transaction called the proxy with this owner and nonce, searched only in the
 * blocks the payment could settle in ({@link permit2SettlementBlocks}; `lifetimeSeconds`: the offer's
 * `maxTimeoutSeconds`). `'used'` when the nonce is spent by something else (another spender, an invalidation);
 * undefined when it is unused.
 */
export async function findPermit2Settlement(
  rail: string,
  settler: EvmSettler,
  token: Address,
  proxy: Address,
  a: Authorization,
  lifetimeSeconds: number,
): Promise<Hash | 'used' | undefined> {
  const state = await read(rail, 'the Permit2 nonce', () =>
    settler.publicClient.readContract({
      address: PERMIT2_ADDRESS,
      abi: permit2Abi,
      functionName: 'nonceBitmap',
      args: [a.from, BigInt(a.nonce) >> 8n],
    }),
  );
  if (((state >> (BigInt(a.nonce) & 0xffn)) & 1n) === 0n) return undefined;
  const blocks = await permit2SettlementBlocks(rail, settler, a, lifetimeSeconds);
  if (!blocks) return 'used';
  const logs = await read(rail, 'transfer logs', () =>
    settler.publicClient.getContractEvents({
      address: token,
      abi: exactTokenAbi,
      eventName: 'Transfer',
      args: { from: a.from, to: a.witness.to },
      ...blocks,
    }),
  );
  for (const log of logs.reverse()) {
    const tx = await read(rail, 'a settlement transaction', () =>
      settler.publicClient.getTransaction({ hash: log.transactionHash }),
    );
    if (!tx.to || !sameAddress(tx.to, proxy)) continue;
    if (settledThis(tx.input, a)) return log.transactionHash;
  }
  return 'used';
}

/** True when proxy calldata settles this owner's permit with this nonce. */
function settledThis(input: Hex, a: Authorization): boolean {
  for (const abi of [x402ExactPermit2ProxyAbi, x402UptoPermit2ProxyAbi]) {
    try {
      const { functionName, args } = decodeFunctionData({ abi, data: input });
      if (functionName !== 'settle' && functionName !== 'settleWithPermit') continue;
      const permit = args.find(
        (arg): arg is { permitted: { token: Address; amount: bigint }; nonce: bigint; deadline: bigint } =>
          typeof arg === 'object' && arg !== null && 'nonce' in arg && 'permitted' in arg,
      );
      const owner = args.find((arg): arg is Address => typeof arg === 'string' && arg.length === 42);
      if (permit && owner && permit.nonce === BigInt(a.nonce) && sameAddress(owner, a.from)) return true;
    } catch {
      // not this proxy's calldata
    }
  }
  return false;
}
