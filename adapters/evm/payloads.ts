import { z } from 'zod';
import { getAddress, isAddress, isHex, type Address, type Hex } from 'viem';

const address = z
  .string()
  .refine((v) => isAddress(v, { strict: false }), 'must be an EVM address')
  .transform((v): Address => getAddress(v));
const uint = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'must be a decimal integer string');
const bytes32 = z.string().refine((v): v is Hex => isHex(v) && v.length === 66, 'must be 32 bytes of hex');
const signature = z
  .string()
  .refine((v): v is Hex => isHex(v) && v.length >= 132 && v.length <= 2 + 2 * 1024, 'must be a hex signature');

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

/** The `eip2612GasSponsoring` extension's info: the payer's EIP-2612 permit of `amount` to Permit2 (x402 standard). */
export const Eip2612GasSponsoringInfoSchema = z.object({
  from: address,
  asset: address,
  spender: address,
  amount: uint,
  nonce: uint,
  deadline: uint,
  signature,
  version: z.string().regex(/^[0-9]+(\.[0-9]+)*$/, 'must be a version like "1"'),
});

/**
 * The PaymentPayload extensions a Permit2 rail reads, folded into its payload under `extensions` by the payment
 * flow (see `payloadExtensionKeys`). Other keys are ignored.
 */
const Permit2PayloadExtensionsSchema = z
  .object({
    // The official client echoes the server's declaration (`info: { description, version }`, `schema`) and adds the
    // permit's fields only when it signed one: a declaration without a whole permit carries no permit.
    eip2612GasSponsoring: z
      .object({ info: z.union([Eip2612GasSponsoringInfoSchema, z.unknown().transform(() => undefined)]) })
      .loose()
      .optional(),
  })
  .loose()
  .optional();

const permitted = z.object({ token: address, amount: uint });

/** x402 `exact` EVM payload with `extra.assetTransferMethod = "permit2"` (official scheme): a Permit2 witness transfer. */
export const Permit2PayloadSchema = z.object({
  signature,
  permit2Authorization: z.object({
    from: address,
    permitted,
    spender: address,
    nonce: uint,
    deadline: uint,
    witness: z.object({ to: address, validAfter: uint }),
  }),
  extensions: Permit2PayloadExtensionsSchema,
});

/** x402 `upto` EVM payload (official scheme): a Permit2 witness transfer of at most `permitted.amount`. */
export const UptoPermit2PayloadSchema = z.object({
  signature,
  permit2Authorization: z.object({
    from: address,
    permitted,
    spender: address,
    nonce: uint,
    deadline: uint,
    witness: z.object({ to: address, facilitator: address, validAfter: uint }),
  }),
  extensions: Permit2PayloadExtensionsSchema,
});

/** The `eip2612GasSponsoring` info (a signed EIP-2612 permit to Permit2). */
export type Eip2612GasSponsoringInfo = z.infer<typeof Eip2612GasSponsoringInfoSchema>;
/** An `exact` Permit2 payload. */
export type Permit2Payload = z.infer<typeof Permit2PayloadSchema>;
/** An `upto` Permit2 payload. */
export type UptoPermit2Payload = z.infer<typeof UptoPermit2PayloadSchema>;
