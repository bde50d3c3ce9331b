import type { PaymentRequirements } from '../../protocol/schemas';
import { formatUnits, type OfferView } from '../pageData';
import { fromBase64, toBase64, toHex } from './bytes';
import { describeWalletError, PageFailure } from './failures';
import { associatedTokenAddress, buildExactPayment, TOKEN_2022_PROGRAM, TOKEN_PROGRAM } from './solanaTransaction';
import { connectWallet, signTransaction, solanaWallets } from './walletStandard';

async function rpc<T>(url: string, method: string, params: unknown[]): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
  } catch {
    throw new PageFailure(
      'The Solana network could not be reached from this page. Nothing was charged; try again shortly.',
    );
  }
  const body = (await res.json()) as { result?: T; error?: { message?: string } };
  if (body.error || body.result === undefined)
    throw new PageFailure(`The Solana network refused ${method}: ${body.error?.message ?? 'no result'}.`);
  return body.result;
}

/**
 * Pays a Solana `exact` offer from a Wallet Standard wallet as the x402 SVM client does: reads the mint (token
 * program, decimals) and a recent blockhash, checks the payer's token balance, builds the transfer with the
 * server's fee payer, and has the wallet sign it partially (`solana:signTransaction`). Returns the x402 payload.
 */
export async function paySolana(
  offer: PaymentRequirements,
  view: OfferView,
  progress: (text: string) => void,
): Promise<Record<string, unknown>> {
  const wallet = solanaWallets()[0];
  if (!wallet)
    throw new PageFailure(
      'No Solana wallet found in this browser. Install one (Phantom, Solflare, Backpack…) and reload, or choose another way to pay.',
    );
  const rpcUrl = view.rpcUrl;
  const feePayer = offer.extra.feePayer;
  if (rpcUrl === undefined || typeof feePayer !== 'string')
    throw new PageFailure('This page cannot reach the Solana network of the offer.');
  progress(`Connecting to ${wallet.name}…`);
  let account: Awaited<ReturnType<typeof connectWallet>>;
  try {
    account = await connectWallet(wallet);
  } catch (error) {
    throw new PageFailure(describeWalletError(error, 'connection'));
  }
  if (!account) throw new PageFailure(`${wallet.name} shared no account with this page.`);
  const mint = await rpc<{ value: { owner: string; data: [string, string] } | null }>(rpcUrl, 'getAccountInfo', [
    offer.asset,
    { encoding: 'base64', commitment: 'confirmed' },
  ]);
  if (!mint.value || (mint.value.owner !== TOKEN_PROGRAM && mint.value.owner !== TOKEN_2022_PROGRAM))
    throw new PageFailure('The token of this offer does not exist on this network.');
  const decimals = fromBase64(mint.value.data[0])[44] ?? 0;
  const source = await associatedTokenAddress(account.address, offer.asset, mint.value.owner);
  const balance = await rpc<{ value: { amount: string } } | null>(rpcUrl, 'getTokenAccountBalance', [
    source,
    { commitment: 'confirmed' },
  ]).catch(() => null);
  const held = BigInt(balance?.value.amount ?? '0');
  if (held < BigInt(offer.amount)) {
    throw new PageFailure(
      `Insufficient balance: ${short(account.address)} holds ${formatUnits(held.toString(), decimals)} ${view.symbol}, the price is ${view.amountText}. Nothing was charged.`,
    );
  }
  const { value } = await rpc<{ value: { blockhash: string } }>(rpcUrl, 'getLatestBlockhash', [
    { commitment: 'confirmed' },
  ]);
  const memo =
    typeof offer.extra.memo === 'string' ? offer.extra.memo : toHex(crypto.getRandomValues(new Uint8Array(16)));
  const unsigned = await buildExactPayment({
    payer: account.address,
    feePayer,
    mint: offer.asset,
    tokenProgram: mint.value.owner,
    decimals,
    payTo: offer.payTo,
    amount: BigInt(offer.amount),
    recentBlockhash: value.blockhash,
    memo,
  });
  progress(`Confirm the payment of ${view.amountText} in ${wallet.name}…`);
  let signed: Uint8Array;
  try {
    signed = await signTransaction(wallet, account, unsigned, offer.network);
  } catch (error) {
    throw new PageFailure(describeWalletError(error, 'signature'));
  }
  return { transaction: toBase64(signed) };
}

function short(address: string): string {
  return `${address.slice(0, 4)}…${address.slice(-4)}`;
}
