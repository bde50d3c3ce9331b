/**
 * Real Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright (no browser
 * download), a fresh profile per launch, and test wallets injected into every page — an EIP-1193 provider
 * whose keys stay on the Node side (signing through `exposeFunction`, everything else forwarded to anvil) and
 * a Wallet Standard Solana wallet signing with a devnet keypair the same way.
 */
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VersionedTransaction, type Keypair } from '@solana/web3.js';
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import type { PublicClient, TypedDataDomain } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';

/** Where Debian installs Chromium (`.ci/run` installs it there with apt-get). */
export const CHROMIUM = process.env.X402_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for a hermetic headless run: no GPU, no QUIC, no network chatter of the browser's own. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where screenshots go (a CI artifact). */
export const ARTIFACTS_DIR = join(process.cwd(), 'test-artifacts', 'browser');

/** A launched browser (one persistent context on a fresh profile) and how to close it. */
export type TestBrowser = { context: BrowserContext; close(): Promise<void> };

/** Launches Chromium headless on a fresh profile; `close` removes the profile. */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'x402-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 900, height: 1000 },
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot under {@link ARTIFACTS_DIR}; returns its path. */
export async function screenshot(page: Page, name: string, path = join(ARTIFACTS_DIR, `${name}.png`)): Promise<string> {
  mkdirSync(join(path, '..'), { recursive: true });
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** How the test EIP-1193 wallet behaves; tests flip these to provoke failures. */
export type EvmWalletControl = {
  account: PrivateKeyAccount;
  chainId: number;
  rejectSignature: boolean;
  rejectSwitch: boolean;
  signatures: number;
  /** The EIP-712 primary types signed, in order (when the test keeps the list). */
  signedTypes?: string[];
};

/** How the test Solana wallet behaves. */
export type SolanaWalletControl = { keypair: Keypair; rejectSignature: boolean; signatures: number };

/**
 * A typed-data value as JSON sent it (uints as decimal strings, nested structs) turned into what viem signs:
 * `uint*` / `int*` fields as bigint, structs field by field, arrays element by element.
 */
function typedValue(types: Record<string, { name: string; type: string }[]>, type: string, value: unknown): unknown {
  if (type.endsWith(']'))
    return Array.isArray(value) ? value.map((v) => typedValue(types, type.replace(/\[\d*\]$/, ''), v)) : value;
  const struct = types[type];
  if (struct && typeof value === 'object' && value !== null)
    return Object.fromEntries(
      struct.map((f) => [f.name, typedValue(types, f.type, (value as Record<string, unknown>)[f.name])]),
    );
  return /^u?int\d*$/.test(type) ? BigInt(String(value)) : value;
}

type WalletAnswer = { result?: unknown; error?: { code: number; message: string } };

/**
 * Injects the test wallets into every page of `context`: `window.ethereum` (EIP-1193) and a Wallet Standard
 * wallet. Keys never enter the page: the page asks, the Node side signs with the control's key.
 */
export async function injectTestWallets(
  context: BrowserContext,
  evm: { control: EvmWalletControl; publicClient: PublicClient },
  solana: { control: SolanaWalletControl },
): Promise<void> {
  await context.exposeFunction(
    '__x402EvmRequest',
    async (method: string, params: unknown[] | undefined): Promise<WalletAnswer> => {
      const c = evm.control;
      const refuse = (code: number, message: string): WalletAnswer => ({ error: { code, message } });
      switch (method) {
        case 'eth_requestAccounts':
        case 'eth_accounts':
          return { result: [c.account.address] };
        case 'eth_chainId':
          return { result: `0x${c.chainId.toString(16)}` };
        case 'wallet_switchEthereumChain': {
          if (c.rejectSwitch) return refuse(4001, 'User rejected the request.');
          const target = (params?.[0] as { chainId?: string } | undefined)?.chainId ?? '0x0';
          c.chainId = Number.parseInt(target, 16);
          return { result: null };
        }
        case 'eth_signTypedData_v4': {
          if (c.rejectSignature) return refuse(4001, 'User rejected the request.');
          const typed = JSON.parse(String(params?.[1])) as {
            domain: TypedDataDomain;
            types: Record<string, { name: string; type: string }[]>;
            primaryType: string;
            message: Record<string, unknown>;
          };
          const { EIP712Domain: _domain, ...types } = typed.types;
          const message = typedValue(types, typed.primaryType, typed.message) as Record<string, unknown>;
          c.signatures += 1;
          c.signedTypes?.push(typed.primaryType);
          return {
            result: await c.account.signTypedData({
              domain: typed.domain,
              types,
              primaryType: typed.primaryType,
              message,
            }),
          };
        }
        default:
          try {
            return { result: await evm.publicClient.request({ method, params } as never) };
          } catch (error) {
            return refuse(-32603, error instanceof Error ? (error.message.split('\n')[0] ?? 'RPC error') : 'RPC error');
          }
      }
    },
  );
  await context.exposeFunction('__x402SolanaSign', async (base64: string): Promise<WalletAnswer> => {
    const c = solana.control;
    if (c.rejectSignature) return { error: { code: 4001, message: 'User rejected the request.' } };
    const tx = VersionedTransaction.deserialize(Buffer.from(base64, 'base64'));
    tx.sign([c.keypair]);
    c.signatures += 1;
    return { result: Buffer.from(tx.serialize()).toString('base64') };
  });
  await context.exposeFunction('__x402SolanaAccount', async (): Promise<WalletAnswer> => {
    const key = solana.control.keypair.publicKey;
    return { result: { address: key.toBase58(), publicKey: [...key.toBytes()] } };
  });
  await context.addInitScript(() => {
    type Answer = { result?: unknown; error?: { code: number; message: string } };
    const w = window as unknown as Record<string, (...args: unknown[]) => Promise<Answer>>;
    const unwrap = (answer: Answer) => {
      if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
      return answer.result;
    };
    Object.defineProperty(window, 'ethereum', {
      value: {
        isTestWallet: true,
        request: async ({ method, params }: { method: string; params?: unknown[] }) =>
          unwrap(await w.__x402EvmRequest!(method, params)),
      },
    });
    const currentAccount = async () => {
      const { address, publicKey } = unwrap(await w.__x402SolanaAccount!()) as { address: string; publicKey: number[] };
      return {
        address,
        publicKey: Uint8Array.from(publicKey),
        chains: ['solana:devnet'],
        features: ['solana:signTransaction'],
      };
    };
    const toB64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
    const fromB64 = (text: string) => Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
    const wallet = {
      version: '1.0.0',
      name: 'Test Solana Wallet',
      icon: 'data:image/svg+xml;base64,PHN2Zy8+',
      chains: ['solana:devnet'],
      accounts: [] as unknown[],
      features: {
        'standard:connect': {
          version: '1.0.0',
          connect: async () => {
            wallet.accounts = [await currentAccount()];
            return { accounts: wallet.accounts };
          },
        },
        'solana:signTransaction': {
          version: '1.0.0',
          supportedTransactionVersions: [0],
          signTransaction: async (...inputs: { transaction: Uint8Array }[]) =>
            Promise.all(
              inputs.map(async (input) => ({
                signedTransaction: fromB64(unwrap(await w.__x402SolanaSign!(toB64(input.transaction))) as string),
              })),
            ),
        },
      },
    };
    window.addEventListener('wallet-standard:app-ready', (event) =>
      (event as CustomEvent<{ register(w: unknown): void }>).detail.register(wallet),
    );
    window.dispatchEvent(
      new CustomEvent('wallet-standard:register-wallet', {
        detail: (api: { register(w: unknown): void }) => api.register(wallet),
      }),
    );
  });
}
