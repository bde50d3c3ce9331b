import { getAddress, parseAbi } from 'viem';

/** Permit2's canonical address (the same on every chain; the official x402 SDK signs for it). */
export const PERMIT2_ADDRESS = getAddress('0x000000000022D473030F116dDEE9F6B43aC78BA3');
/** The canonical `x402ExactPermit2Proxy`: the Permit2 spender of x402 `exact` payments. */
export const X402_EXACT_PERMIT2_PROXY_ADDRESS = getAddress('0x402085c248EeA27D92E8b30b2C58ed07f9E20001');
/** The canonical `x402UptoPermit2Proxy`: the Permit2 spender of x402 `upto` payments. */
export const X402_UPTO_PERMIT2_PROXY_ADDRESS = getAddress('0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002');

/** The Permit2 functions the rails read: the unordered nonce bitmap and the EIP-712 domain separator. */
export const permit2Abi = parseAbi([
  'function nonceBitmap(address owner, uint256 wordPos) view returns (uint256)',
  'function DOMAIN_SEPARATOR() view returns (bytes32)',
  'event UnorderedNonceInvalidation(address indexed owner, uint256 word, uint256 mask)',
  'error InvalidNonce()',
  'error SignatureExpired(uint256 signatureDeadline)',
  'error InvalidAmount(uint256 maxAmount)',
  'error InvalidSignature()',
  'error InvalidSigner()',
  'error InvalidSignatureLength()',
  'error InvalidContractSignature()',
]);

const proxyCommon = [
  'struct TokenPermissions { address token; uint256 amount; }',
  'struct PermitTransferFrom { TokenPermissions permitted; uint256 nonce; uint256 deadline; }',
  'struct EIP2612Permit { uint256 value; uint256 deadline; bytes32 r; bytes32 s; uint8 v; }',
  'function PERMIT2() view returns (address)',
  'event Settled()',
  'event SettledWithPermit()',
  'error InvalidAmount()',
  'error InvalidDestination()',
  'error InvalidOwner()',
  'error InvalidPermit2Address()',
  'error PaymentTooEarly()',
  'error Permit2612AmountMismatch()',
  'error ReentrancyGuardReentrantCall()',
  // Permit2's errors bubble up through the proxy: listed so a revert decodes to its name.
  'error InvalidNonce()',
  'error SignatureExpired(uint256 signatureDeadline)',
  'error InvalidSignature()',
  'error InvalidSigner()',
  'error InvalidSignatureLength()',
  'error InvalidContractSignature()',
] as const;

/** `x402ExactPermit2Proxy`: settles exactly the permitted amount to the witness's `to`. */
export const x402ExactPermit2ProxyAbi = parseAbi([
  ...proxyCommon,
  'struct ExactWitness { address to; uint256 validAfter; }',
  'function settle(PermitTransferFrom permit, address owner, ExactWitness witness, bytes signature)',
  'function settleWithPermit(EIP2612Permit permit2612, PermitTransferFrom permit, address owner, ExactWitness witness, bytes signature)',
]);

/** `x402UptoPermit2Proxy`: the named facilitator settles any amount up to the permitted maximum. */
export const x402UptoPermit2ProxyAbi = parseAbi([
  ...proxyCommon,
  'error AmountExceedsPermitted()',
  'error UnauthorizedFacilitator()',
  'struct UptoWitness { address to; address facilitator; uint256 validAfter; }',
  'function settle(PermitTransferFrom permit, uint256 amount, address owner, UptoWitness witness, bytes signature)',
  'function settleWithPermit(EIP2612Permit permit2612, PermitTransferFrom permit, uint256 amount, address owner, UptoWitness witness, bytes signature)',
]);

/** EIP-712 types of an `exact` Permit2 payment (`PermitWitnessTransferFrom` with witness `{to, validAfter}`). */
export const exactPermit2WitnessTypes = {
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
    { name: 'validAfter', type: 'uint256' },
  ],
} as const;

/** EIP-712 types of an `upto` Permit2 payment (witness `{to, facilitator, validAfter}`). */
export const uptoPermit2WitnessTypes = {
  PermitWitnessTransferFrom: exactPermit2WitnessTypes.PermitWitnessTransferFrom,
  TokenPermissions: exactPermit2WitnessTypes.TokenPermissions,
  Witness: [
    { name: 'to', type: 'address' },
    { name: 'facilitator', type: 'address' },
    { name: 'validAfter', type: 'uint256' },
  ],
} as const;
