import { MalformedInputError, errorCodes } from './errors';

/** CAIP-2 chain id: `namespace:reference`, e.g. `eip155:8453`, `solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp`. */
export type CaipNetwork = `${string}:${string}`;

const CAIP2 = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/;
const ATOMIC = /^(?:0|[1-9][0-9]{0,77})$/;

/** Solana cluster genesis hash prefixes as x402 names them. */
export const solanaNetworks = {
  mainnet: 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp',
  devnet: 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1',
  testnet: 'solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z',
} as const;

/** Bitcoin (Lightning) networks by genesis hash prefix, as CAIP-2 `bip122` ids. */
export const bitcoinNetworks = {
  mainnet: 'bip122:000000000019d6689c085ae165831e93',
  testnet: 'bip122:000000000933ea01ad0ee984209779ba',
  regtest: 'bip122:0f9188f13cb7b2c71f2a335e3a4fc328',
} as const;

/** x402 v1 short network names and the CAIP-2 ids they stand for. */
export const v1NetworkNames: Readonly<Record<string, CaipNetwork>> = {
  base: 'eip155:8453',
  'base-sepolia': 'eip155:84532',
  avalanche: 'eip155:43114',
  'avalanche-fuji': 'eip155:43113',
  polygon: 'eip155:137',
  'polygon-amoy': 'eip155:80002',
  sei: 'eip155:1329',
  'sei-testnet': 'eip155:1328',
  iotex: 'eip155:4689',
  ethereum: 'eip155:1',
  sepolia: 'eip155:11155111',
  solana: solanaNetworks.mainnet,
  'solana-devnet': solanaNetworks.devnet,
};

/** True when `value` is a syntactically valid CAIP-2 chain id. */
export function isCaipNetwork(value: string): value is CaipNetwork {
  return CAIP2.test(value);
}

/** Splits a CAIP-2 id into namespace and reference; throws a 400-typed error when malformed. */
export function parseCaipNetwork(value: string): { namespace: string; reference: string } {
  if (!isCaipNetwork(value)) {
    throw new MalformedInputError(
      errorCodes.INVALID_CAIP,
      `"${value.slice(0, 80)}" is not a CAIP-2 network id (namespace:reference).`,
    );
  }
  const i = value.indexOf(':');
  return { namespace: value.slice(0, i), reference: value.slice(i + 1) };
}

/** `eip155:<chainId>` for an EVM chain id. */
export function evmNetwork(chainId: number | bigint): CaipNetwork {
  return `eip155:${chainId.toString()}`;
}

/** The EVM chain id of an `eip155:` network, or undefined for another namespace. */
export function evmChainId(network: string): number | undefined {
  const m = /^eip155:([1-9][0-9]{0,15})$/.exec(network);
  return m ? Number(m[1]) : undefined;
}

/** CAIP-19 asset id, e.g. `eip155:1/erc20:0xa0b8…`. */
export function caipAssetId(network: CaipNetwork, assetNamespace: string, assetReference: string): string {
  return `${network}/${assetNamespace}:${assetReference}`;
}

/** Maps a v1 short name (or an already CAIP-2 id) to CAIP-2; undefined when unknown. */
export function normalizeNetwork(value: string): CaipNetwork | undefined {
  if (isCaipNetwork(value)) return value;
  // Own keys only: "constructor" or "__proto__" from a hostile 402 body must not resolve to Object's members.
  return Object.hasOwn(v1NetworkNames, value) ? v1NetworkNames[value] : undefined;
}

/** True for an atomic amount: a non-negative decimal integer string without sign, fraction or leading zeros. */
export function isAtomicAmount(value: string): boolean {
  return ATOMIC.test(value);
}

/** Parses an atomic amount string to bigint; throws a 400-typed error otherwise. Never goes through a float. */
export function parseAtomicAmount(value: string): bigint {
  if (!isAtomicAmount(value)) {
    throw new MalformedInputError(
      errorCodes.INVALID_AMOUNT,
      `"${value.slice(0, 80)}" is not an atomic amount (a decimal integer string).`,
    );
  }
  return BigInt(value);
}
