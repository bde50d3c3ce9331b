import { z } from 'zod';
import { getAddress, isAddress, isHex, type Address, type Hex } from 'viem';

const address = z
  .string()
  .refine((v) => isAddress(v, { strict: false }), 'must be an EVM address')
  .transform((v): Address => getAddress(v));
const uint = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'must be a decimal integer string');
const bytes32 = z.string().refine((v): v is Hex => isHex(v) && v.length === 66, 'must be 32 bytes of hex');
const signature = z.string().refine((v): v is Hex => isHex(v) && v.length >= 132 && v.length <= 2 + 2 * 1024, 'must be a hex signature');

/** x402 `exact` EVM payload (EIP-3009), identical to the official scheme. */
export const Eip3009PayloadSchema = z.object({
  signature,
  authorization: z.object({
    from: address,
    to: address,
    value: uint,
    validAfter: uint,
    validBefore: uint,
    nonce: bytes32,
  }),
});

/** Our EIP-2612 payload (an x402-rails extension, `extra.assetTransferMethod = "eip2612"`). */
export const Eip2612PayloadSchema = z.object({
  signature,
  permit: z.object({
    owner: address,
    spender: address,
    value: uint,
    nonce: uint,
    deadline: uint,
  }),
});

/** An x402 `exact` EVM payload signed with EIP-3009. */
export type Eip3009Payload = z.infer<typeof Eip3009PayloadSchema>;
/** An EIP-2612 permit payload (x402-rails extension). */
export type Eip2612Payload = z.infer<typeof Eip2612PayloadSchema>;
