/**
 * Every way a payment from the page can fail, in words a person can act on. Reason codes come from the
 * server's 402 (`error`) or from the wallet (EIP-1193 / Wallet Standard errors).
 */
const REASONS: Record<string, string> = {
  challenge_expired: 'This offer expired before it was paid. Nothing was charged: reload the page for a fresh offer.',
  challenge_invalid: 'The server did not recognise this offer. Nothing was charged: reload the page.',
  insufficient_funds:
    'Your wallet holds less than the price. Nothing was charged: add funds or choose another way to pay.',
  invalid_signature:
    'The server could not verify the signature. Nothing was charged: try again, or use another wallet.',
  invalid_exact_evm_payload_signature: 'The server could not verify the signature. Nothing was charged.',
  domain_mismatch: 'The token of this offer does not match the server’s. Nothing was charged: contact the site.',
  network_mismatch: 'The payment was made for another network than the offer’s. Nothing was charged.',
  invoice_expired: 'The Lightning invoice expired unpaid. Reload the page for a fresh invoice.',
  invoice_unpaid: 'The Lightning invoice is not paid yet.',
  payment_already_used: 'This payment was already used for another request.',
  payment_failed: 'The payment could not be settled. Nothing was served: try again with a fresh offer.',
  blockhash_expired: 'The Solana transaction expired before it reached the server. Nothing was charged: try again.',
};

/** Words for a reason code, with the server's own message when it sent one. */
export function describeReason(reason: string | undefined, message?: string): string {
  const known = reason === undefined ? undefined : REASONS[reason];
  if (known) return known;
  if (message) return `The payment was refused: ${message}`;
  return reason
    ? `The payment was refused (${reason}). Nothing was charged.`
    : 'The payment was refused. Nothing was charged.';
}

/** An error a wallet threw (EIP-1193 `{code, message}`, Wallet Standard `Error`), in words. */
export function describeWalletError(error: unknown, action: string): string {
  const code =
    typeof error === 'object' && error !== null && 'code' in error ? (error as { code: unknown }).code : undefined;
  const message =
    error instanceof Error
      ? error.message
      : typeof error === 'object' && error !== null && 'message' in error
        ? String((error as { message: unknown }).message)
        : String(error);
  if (code === 4001 || /reject|denied|cancel/i.test(message))
    return `You rejected the ${action} in your wallet. Nothing was charged.`;
  if (code === 4100)
    return `Your wallet did not allow this site to ask for the ${action}: connect the site in your wallet first.`;
  if (code === 4902) return 'Your wallet does not know this network: add it in your wallet, then try again.';
  return `Your wallet failed the ${action}: ${message.slice(0, 200)}. Nothing was charged.`;
}

/** A failure already put in words; flows throw it and the page shows its message as is. */
export class PageFailure extends Error {
  override readonly name = 'PageFailure';
}
