/// <reference path="./secp256k1.d.ts" />
import {
  getAddress,
  hashTypedData,
  hexToBytes,
  keccak256,
  recoverTypedDataAddress,
  toHex,
  type Address,
  type Hex,
  type TypedDataDefinition,
} from 'viem';
import { sameAddress } from './requirements';

/** The part of the `secp256k1` package (native, prebuilt for common platforms) this module uses. */
type NativeSecp256k1 = {
  ecdsaRecover(signature: Uint8Array, recid: number, message: Uint8Array, compressed: boolean): Uint8Array;
};

let native: Promise<NativeSecp256k1 | undefined> | undefined;

/**
 * The native binding's module name, held in a variable: bundlers for the browser then leave it out (it is a Node
 * addon; in a browser the import fails and viem's pure-JS recovery is used).
 */
const NATIVE_BINDING = 'secp256k1/bindings.js';

/** Loads the native binding of the optional `secp256k1` peer once; undefined when it is not installed or does not load. */
function loadNative(): Promise<NativeSecp256k1 | undefined> {
  native ??= import(/* @vite-ignore */ /* webpackIgnore: true */ NATIVE_BINDING).then(
    (mod: { default?: unknown }) => {
      const binding = (mod.default ?? mod) as Partial<NativeSecp256k1>;
      return typeof binding.ecdsaRecover === 'function' ? (binding as NativeSecp256k1) : undefined;
    },
    () => undefined,
  );
  return native;
}

/**
 * The address that signed EIP-712 typed data. Uses the native `secp256k1` binding when that optional peer is
 * installed (about 13× faster than pure-JS recovery; verification is the CPU cost of every paid request) and
 * viem's `recoverTypedDataAddress` otherwise, or for signatures the fast path does not take (compact EIP-2098).
 * Throws like viem for a signature that cannot be recovered.
 *
 * @example const signer = await recoverTypedDataSigner({ domain, types, primaryType: 'Permit', message, signature });
 */
export async function recoverTypedDataSigner(parameters: TypedDataDefinition & { signature: Hex }): Promise<Address> {
  const binding = await loadNative();
  const bytes =
    binding && /^0x[0-9a-fA-F]{130}$/.test(parameters.signature) ? hexToBytes(parameters.signature) : undefined;
  const v = bytes?.[64];
  if (!binding || !bytes || v === undefined || ![0, 1, 27, 28].includes(v)) return recoverTypedDataAddress(parameters);
  const { signature: _signature, ...typed } = parameters;
  const digest = hexToBytes(hashTypedData(typed as TypedDataDefinition));
  let publicKey: Uint8Array;
  try {
    publicKey = binding.ecdsaRecover(bytes.subarray(0, 64), v >= 27 ? v - 27 : v, digest, false);
  } catch {
    return recoverTypedDataAddress(parameters); // let viem answer (and throw) for what the binding refuses
  }
  return getAddress(`0x${keccak256(toHex(publicKey.subarray(1))).slice(-40)}`);
}

/** secp256k1 group order n, and n/2: the largest `s` the token's ECDSA (OpenZeppelin) accepts. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = SECP256K1_N >> 1n;

/** Why {@link typedDataSignedBy} refused a signature, as a stable rejection reason. */
export type SignatureRefusal = {
  /** `invalid_signature`: unrecoverable or made by someone else; `non_canonical_signature`: a form the token refuses. */
  reason: 'invalid_signature' | 'non_canonical_signature';
  message: string;
};

/**
 * Checks that a signature has the one form the token's ECDSA accepts, the form settlement submits: 65 bytes
 * `r ‖ s ‖ v` with `v` ∈ {27, 28} (or the parity 0/1, which settlement sends as 27/28 through the `v, r, s`
 * overload), `1 ≤ r < n` and `1 ≤ s ≤ n/2` (EIP-2 low-s; OpenZeppelin's ECDSA, used by RailsToken and USDC alike,
 * reverts on a high `s`, while viem and libsecp256k1 recover either half). EIP-2098 compact (64-byte) and longer
 * signatures are refused: the token's `bytes` overload takes 65 bytes only, and ERC-1271 wallets are not verified
 * offline. Undefined when canonical.
 *
 * @example canonicalSignatureRefusal('0x…65 bytes with high s…'); // { reason: 'non_canonical_signature', … }
 */
export function canonicalSignatureRefusal(signature: Hex): SignatureRefusal | undefined {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) {
    return {
      reason: 'non_canonical_signature',
      message:
        'The signature must be 65 bytes (r, s, v); compact (EIP-2098) and contract-wallet signatures are not accepted.',
    };
  }
  const r = BigInt(`0x${signature.slice(2, 66)}`);
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130), 16);
  if (![0, 1, 27, 28].includes(v))
    return { reason: 'non_canonical_signature', message: `The signature's v is ${v}; the token accepts 27 or 28.` };
  if (r === 0n || r >= SECP256K1_N || s === 0n || s >= SECP256K1_N)
    return { reason: 'invalid_signature', message: 'The signature is out of range and cannot be recovered.' };
  if (s > HALF_N) {
    return {
      reason: 'non_canonical_signature',
      message:
        "The signature's s is in the upper half of the curve order (malleable, EIP-2): the token refuses it. Sign again with a standard wallet.",
    };
  }
  return undefined;
}

/**
 * Checks that typed data was signed by `expected` (EVM addresses compared case-insensitively) in the one form the
 * token accepts at settlement (see {@link canonicalSignatureRefusal}), so verify never passes what settle would
 * refuse: undefined when it was, else why not (`invalid_signature` for an unrecoverable signature or another
 * signer, `non_canonical_signature` for a high-s, compact or odd-v signature).
 *
 * @example
 * const refusal = await typedDataSignedBy({ domain, types, primaryType: 'Permit', message, signature }, owner);
 * if (refusal) return { isValid: false, reason: refusal.reason, message: refusal.message };
 */
export async function typedDataSignedBy(
  parameters: TypedDataDefinition & { signature: Hex },
  expected: string,
): Promise<SignatureRefusal | undefined> {
  const form = canonicalSignatureRefusal(parameters.signature);
  if (form) return form;
  let signer: Address;
  try {
    signer = await recoverTypedDataSigner(parameters);
  } catch {
    return { reason: 'invalid_signature', message: 'The signature cannot be recovered.' };
  }
  return sameAddress(signer, expected)
    ? undefined
    : {
        reason: 'invalid_signature',
        message: `The signature was not made by ${expected} over this message and token domain.`,
      };
}
