import { getAddress, isAddress, keccak256, stringToHex, type Address, type Hex } from 'viem';
import { getEip712Domain } from 'viem/actions';
import { z } from 'zod';
import {
  ConfigurationError,
  PaymentInvalidError,
  RailUnavailableError,
  evmChainId,
  type MppChallenge,
  type MppClientMethod,
  type MppServerMethod,
  type PaymentRequirements,
} from '../../src/index';
import { transferWithAuthorizationTypes } from './abi';
import { Eip3009PayloadSchema } from './payloads';
import { sameAddress, transferMethodOf } from './requirements';
import type { EvmTokenConfig } from './serverCommon';
import { isEvmWallet } from './wallet';

/**
 * The MPP `evm` payment method, `charge` intent, with the `authorization` credential type: an EIP-3009
 * `transferWithAuthorization` whose nonce is keccak256(challenge id ‖ realm), so the signature answers one
 * challenge only. Wire-identical to mppx 0.11 (`mppx/evm`): request `{amount, currency, recipient,
 * methodDetails: {chainId, credentialTypes: ['authorization'], decimals}}`, payload `{type: 'authorization',
 * from, to, value, validAfter, validBefore, nonce, signature}`, source `did:pkh:eip155:<chainId>:<from>`.
 */

/** The EIP-3009 nonce of an MPP EVM charge credential: keccak256 of the challenge id followed by its realm. */
export function mppChallengeHash(challenge: Pick<MppChallenge, 'id' | 'realm'>): Hex {
  return keccak256(stringToHex(`${challenge.id}${challenge.realm}`));
}

/** The `source` of a credential: the payer as a did:pkh. */
export function evmSource(chainId: number, address: Address): string {
  return `did:pkh:eip155:${chainId}:${getAddress(address)}`;
}

const atomic = z.string().regex(/^(0|[1-9][0-9]{0,77})$/);
const address = z.string().refine((v) => isAddress(v, { strict: false }), 'an EVM address');

/** The `authorization` credential payload of an MPP EVM charge. */
export const MppEvmAuthorizationPayloadSchema = z.object({
  type: z.literal('authorization'),
  from: address,
  to: address,
  value: atomic,
  validAfter: atomic,
  validBefore: atomic,
  nonce: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130,2048}$/),
});

/** The request of an MPP EVM charge this package reads (other method details are ignored). */
const ChargeRequestSchema = z.object({
  amount: atomic,
  currency: address,
  recipient: address,
  methodDetails: z.looseObject({
    chainId: z.number().int().positive(),
    credentialTypes: z.array(z.string()).optional(),
    splits: z.array(z.unknown()).optional(),
  }),
});

/** The server half for the EIP-3009 rail: `evm`/`charge` for its EIP-3009 offers. */
export function evmMppChargeServer(p: { chainId: number; token: EvmTokenConfig }): MppServerMethod {
  return {
    method: 'evm',
    intent: 'charge',
    request(offer: PaymentRequirements) {
      if (
        transferMethodOf(offer) !== 'eip3009' ||
        evmChainId(offer.network) !== p.chainId ||
        !isAddress(offer.payTo, { strict: false })
      )
        return undefined;
      return {
        amount: offer.amount,
        currency: getAddress(offer.asset),
        recipient: getAddress(offer.payTo),
        methodDetails: {
          chainId: p.chainId,
          credentialTypes: ['authorization'],
          ...(p.token.decimals !== undefined ? { decimals: p.token.decimals } : {}),
        },
      };
    },
    payload(credential) {
      const parsed = MppEvmAuthorizationPayloadSchema.safeParse(credential.payload);
      if (!parsed.success)
        return {
          reason: 'invalid_payload',
          message:
            'The evm charge credential needs an authorization payload {type: "authorization", from, to, value, validAfter, validBefore, nonce, signature}.',
        };
      const a = parsed.data;
      if (a.nonce.toLowerCase() !== mppChallengeHash(credential.challenge).toLowerCase()) {
        return {
          reason: 'challenge_mismatch',
          message:
            'The authorization was signed for another challenge (its nonce is not keccak256(id ‖ realm) of this one).',
        };
      }
      if (credential.source !== undefined && credential.source !== evmSource(p.chainId, getAddress(a.from))) {
        return {
          reason: 'source_mismatch',
          message: 'The credential source names another payer than the authorization.',
        };
      }
      const payload = Eip3009PayloadSchema.safeParse({
        signature: a.signature,
        authorization: {
          from: a.from,
          to: a.to,
          value: a.value,
          validAfter: a.validAfter,
          validBefore: a.validBefore,
          nonce: a.nonce,
        },
      });
      if (!payload.success) return { reason: 'invalid_payload', message: 'The evm charge authorization is malformed.' };
      return { payload: payload.data };
    },
  };
}

/** Options of the client half: the EIP-712 domains of tokens (read from the chain when not listed). */
export type EvmMppChargeClientOptions = { domains?: readonly Pick<EvmTokenConfig, 'address' | 'name' | 'version'>[] };

/**
 * The client half: reads an `evm`/`charge` challenge as an `exact` EIP-3009 offer (so policy and budgets judge it
 * as any offer) and signs the authorization mppx's server expects. The token's EIP-712 name and version are not
 * in the challenge: they come from `domains`, else from the token (EIP-5267) through the wallet's publicClient.
 */
export function evmMppChargeClient(options: EvmMppChargeClientOptions = {}): MppClientMethod {
  return {
    method: 'evm',
    intent: 'charge',
    offer(challenge) {
      if (challenge.method !== 'evm' || challenge.intent !== 'charge') return undefined;
      const parsed = ChargeRequestSchema.safeParse(challenge.request);
      if (!parsed.success) return undefined;
      const r = parsed.data;
      if (r.methodDetails.credentialTypes && !r.methodDetails.credentialTypes.includes('authorization'))
        return undefined;
      if (r.methodDetails.splits?.length) return undefined;
      const expires = challenge.expires === undefined ? undefined : Math.floor(Date.parse(challenge.expires) / 1000);
      return {
        scheme: 'exact',
        network: `eip155:${r.methodDetails.chainId}`,
        amount: r.amount,
        asset: getAddress(r.currency),
        payTo: getAddress(r.recipient),
        maxTimeoutSeconds: expires === undefined ? 300 : Math.max(1, expires - Math.floor(Date.now() / 1000)),
        extra: {},
      };
    },
    async createCredential(challenge, offer, w) {
      if (!isEvmWallet(w)) throw new ConfigurationError('The EVM rail needs a wallet made by evmWallet().');
      const chainId = evmChainId(offer.network);
      if (chainId === undefined)
        throw new PaymentInvalidError('invalid_requirements', 'The evm charge names no chain.');
      const token = getAddress(offer.asset);
      const known = options.domains?.find((d) => sameAddress(d.address, token));
      let name = known?.name;
      let version = known?.version;
      if (name === undefined || version === undefined) {
        if (!w.publicClient)
          throw new PaymentInvalidError(
            'invalid_requirements',
            `The evm charge does not name the token's EIP-712 domain: list ${token} in domains, or give evmWallet() a publicClient to read it.`,
          );
        try {
          const { domain } = await getEip712Domain(w.publicClient, { address: token });
          name = domain.name;
          version = domain.version;
        } catch (cause) {
          throw new RailUnavailableError(`Could not read the EIP-712 domain of ${token}.`, {
            cause,
            rail: 'evm-eip3009',
          });
        }
      }
      const sign = w.account.signTypedData;
      if (!sign) throw new ConfigurationError('The EVM wallet account cannot sign typed data.');
      const nonce = mppChallengeHash(challenge);
      const validBefore =
        challenge.expires === undefined
          ? Math.floor(Date.now() / 1000) + 300
          : Math.floor(Date.parse(challenge.expires) / 1000);
      const to = getAddress(offer.payTo);
      const message = {
        from: w.address,
        to,
        value: BigInt(offer.amount),
        validAfter: 0n,
        validBefore: BigInt(validBefore),
        nonce,
      };
      const signature = await sign({
        domain: { name, version, chainId, verifyingContract: token },
        types: transferWithAuthorizationTypes,
        primaryType: 'TransferWithAuthorization',
        message,
      });
      return {
        payload: {
          from: getAddress(w.address),
          nonce,
          signature,
          to,
          type: 'authorization',
          validAfter: '0',
          validBefore: String(validBefore),
          value: offer.amount,
        },
        source: evmSource(chainId, w.address),
      };
    },
  };
}
