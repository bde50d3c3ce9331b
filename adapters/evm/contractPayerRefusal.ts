import {
  hashTypedData,
  parseAbi,
  parseSignature,
  serializeSignature,
  type Address,
  type Hex,
  type PublicClient,
  type TypedDataDefinition,
} from 'viem';
import { read, rpcUnreachable } from './chain';
import type { SignatureRefusal } from './recoverTypedDataSigner';

const erc1271Abi = parseAbi(['function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)']);
const ERC1271_MAGIC = '0x1626ba7e';

/**
 * For a payer address that has code (a smart wallet, or an EIP-7702 delegated account), whether the token would
 * take its signature at settlement: OpenZeppelin's SignatureChecker (RailsToken, USDC v2.2) then skips ECDSA and
 * asks the account itself, ERC-1271 `isValidSignature(digest, r ‖ s ‖ v)` with `v` as 27/28 (the form settlement
 * submits). Undefined when `code` is empty (a plain account: ECDSA, already checked) or the account approves;
 * `invalid_signature` when it does not, so verify never passes what settlement would revert.
 *
 * @example const refusal = await contractPayerRefusal('evm-eip3009', publicClient, from, code, typedData, signature);
 */
export async function contractPayerRefusal(
  rail: string,
  publicClient: PublicClient,
  payer: Address,
  code: Hex | undefined,
  typedData: TypedDataDefinition,
  signature: Hex,
): Promise<SignatureRefusal | undefined> {
  if (code === undefined || code === '0x') return undefined;
  const { r, s, yParity } = parseSignature(signature);
  const submitted = serializeSignature({ r, s, v: yParity === 0 ? 27n : 28n });
  const digest = hashTypedData(typedData);
  const answer = await read(rail, "the payer account's ERC-1271 answer", () =>
    publicClient
      .readContract({ address: payer, abi: erc1271Abi, functionName: 'isValidSignature', args: [digest, submitted] })
      .catch((error: unknown) => (rpcUnreachable(error) ? Promise.reject(error) : undefined)),
  );
  if (answer?.toLowerCase() === ERC1271_MAGIC) return undefined;
  return {
    reason: 'invalid_signature',
    message: `The payer ${payer} is a contract account (a smart wallet or an EIP-7702 delegated account); the token asks it to approve the signature (ERC-1271) and it does not. Pay from an account that does.`,
  };
}
