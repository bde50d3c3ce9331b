/**
 * The app side of the Wallet Standard (github.com/wallet-standard), by hand in a few lines: wallets register by
 * the `wallet-standard:register-wallet` event or answer our `wallet-standard:app-ready`. Only what the page
 * uses is typed: `standard:connect` and `solana:signTransaction`.
 */

/** An account a wallet shares. */
export type StandardAccount = { address: string; publicKey: Uint8Array; chains?: readonly string[] };

/** A Wallet Standard wallet, as far as the page uses it. */
export type StandardWallet = {
  name: string;
  icon?: string;
  chains?: readonly string[];
  accounts?: readonly StandardAccount[];
  features: Record<string, unknown>;
};

type ConnectFeature = { connect(input?: { silent?: boolean }): Promise<{ accounts: readonly StandardAccount[] }> };
type SignTransactionFeature = {
  signTransaction(
    ...inputs: { account: StandardAccount; transaction: Uint8Array; chain?: string }[]
  ): Promise<readonly { signedTransaction: Uint8Array }[]>;
};

const registered: StandardWallet[] = [];
let listening = false;

/** Starts listening for wallets (call once, as early as possible). */
export function listenForWallets(): void {
  if (listening) return;
  listening = true;
  const api = {
    register: (...wallets: StandardWallet[]) => {
      registered.push(...wallets);
      return () => undefined;
    },
  };
  window.addEventListener('wallet-standard:register-wallet', (event) => {
    const callback = (event as CustomEvent<unknown>).detail;
    if (typeof callback === 'function') callback(api);
  });
  window.dispatchEvent(new CustomEvent('wallet-standard:app-ready', { detail: api }));
}

/** The registered wallets that can connect and sign Solana transactions. */
export function solanaWallets(): StandardWallet[] {
  return registered.filter(
    (w) =>
      typeof w.features['standard:connect'] === 'object' && typeof w.features['solana:signTransaction'] === 'object',
  );
}

/** Connects to a wallet; its first account. */
export async function connectWallet(wallet: StandardWallet): Promise<StandardAccount | undefined> {
  const feature = wallet.features['standard:connect'] as ConnectFeature;
  const { accounts } = await feature.connect();
  return accounts[0];
}

/** Has the wallet sign a serialized transaction (partially: the fee payer signs later); the signed bytes. */
export async function signTransaction(
  wallet: StandardWallet,
  account: StandardAccount,
  transaction: Uint8Array,
  chain: string,
): Promise<Uint8Array> {
  const feature = wallet.features['solana:signTransaction'] as SignTransactionFeature;
  const [output] = await feature.signTransaction({ account, transaction, chain });
  if (!output) throw new Error('the wallet returned no signed transaction');
  return output.signedTransaction;
}
