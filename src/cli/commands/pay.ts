import { writeFile } from 'node:fs/promises';
import { payingFetch, type FetchLike } from '../../client/payingFetch';
import { receiptOf, type PaymentOutcome } from '../../client/paymentOutcome';
import { NoAcceptableOfferError } from '../../core/errors';
import type { SpendingPolicy } from '../../core/policy';
import { decodePaymentSignatureHeader, headerNames } from '../../protocol/headers';
import { expectPositionals } from '../args';
import { defineCommand } from '../command';
import { CliError, UsageError } from '../errors';
import { isFetchFailure, unreachable } from '../fetchFailure';
import { loadWallets } from '../loadWallets';
import { DEFAULT_CAP_HELP, applyMaxFlags, parseMaxFlag } from '../maxPerRequest';
import { printJson, progress, table } from '../output';
import { requestInit } from '../requestOptions';
import { readWalletSettings, walletSettingNames } from '../walletConfig';

const help = `Usage: x402-rails pay <url> [options]

Requests <url>; on a 402 (x402 v2/v1, or L402 on Lightning) picks a rail it holds a wallet for, pays,
retries, and prints the response body (stdout) and the receipt (stderr), saying what was checked: a receipt
the server signed is verified against the issuer's JWKS and must bind this request and the offer paid; a plain
x402 server signs none, so the receipt is built from its settlement answer and checked on chain when the rail
can (else printed as unchecked). Exits 1 when nothing could be paid, the response is not 2xx, or the receipt
does not check out.

Wallets come from the environment, or from a JSON config file with the same field names (which wins):
  EVM        X402_EVM_PRIVATE_KEY (0x + 64 hex), X402_EVM_RPC_URL
  Solana     X402_SOLANA_SECRET_KEY (base58, or a JSON array of 64 bytes), X402_SOLANA_RPC_URL
  Lightning  X402_LND_SOCKET (host:port), X402_LND_CERT (base64 PEM), X402_LND_MACAROON (hex)

Options:
  --max <amount>          most one request may cost, in atomic units (token base units, msat), on every asset;
                          or <asset>=<amount> / <network>/<asset>=<amount> for one asset (repeatable).
                          ${DEFAULT_CAP_HELP}
  --prefer <rail|ns>      prefer a rail id (evm-eip3009, evm-eip2612, solana-spl, lightning-l402), a network
                          (eip155:8453) or a namespace (eip155, solana, bip122); repeatable, first wins
  -X, --method <method>   HTTP method (default GET, or POST with -d)
  -H, --header <h>        request header "Name: value" (repeatable)
  -d, --data <data>       request body; @file reads a file, @- reads stdin
  --config <file.json>    wallet settings file
  --receipt-out <file>    also write the signed receipt JSON (for \`x402-rails receipt verify\`)
  --json                  print one JSON document on stdout: status, body, receipt, signed receipt
  -h, --help              show this help

Example:
  X402_EVM_RPC_URL=http://127.0.0.1:8545 X402_EVM_PRIVATE_KEY=0x… x402-rails pay http://localhost:3000/report --max 20000`;

/** What `pay --json` prints. */
export type PayResult = {
  url: string;
  status: number;
  ok: boolean;
  paid: boolean;
  rail?: string;
  network?: string;
  asset?: string;
  amount?: string;
  elapsedMs?: number;
  receipt?: PaymentOutcome['receipt'];
  signedReceipt?: PaymentOutcome['signedReceipt'];
  /** True when the receipt was checked: its issuer's signature and bindings, or its transaction on chain. */
  receiptVerified: boolean;
  /** Where the receipt comes from: the server signed it, or it was built from the server's settlement answer. */
  receiptSource?: PaymentOutcome['receiptSource'];
  /** What was checked: `signature`, `on_chain` or `unchecked`. */
  receiptCheck?: PaymentOutcome['receiptCheck'];
  receiptError?: string;
  /** Set when the payment left the wallet but the server did not serve (status, reason). */
  refused?: { status: number; reason?: string };
  settleResponse?: PaymentOutcome['settleResponse'];
  contentType: string | null;
  body: string;
};

/** `pay <url>`: pay a 402-protected URL with configured wallets, print the body and the receipt. */
export const pay = defineCommand({
  name: 'pay',
  summary: 'pay a 402-protected URL (x402 or L402) and print the body and the verified receipt',
  help,
  options: {
    max: { type: 'string', multiple: true },
    prefer: { type: 'string', multiple: true },
    method: { type: 'string', short: 'X' },
    header: { type: 'string', short: 'H', multiple: true },
    data: { type: 'string', short: 'd' },
    config: { type: 'string' },
    'receipt-out': { type: 'string' },
  },
  async run({ values, positionals }) {
    const [url = ''] = expectPositionals('pay', positionals, ['url']);
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw new UsageError(`"${url}" is not a URL: give an absolute http(s) URL.`, 'pay');
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:')
      throw new UsageError(`"${url}" is not an http(s) URL.`, 'pay');
    const maxFlags = (values.max ?? []).map((m) => parseMaxFlag(m, 'pay'));
    const prefer = values.prefer ?? [];
    for (const p of prefer)
      if (!/^[a-z0-9][a-z0-9:_-]{0,127}$/i.test(p))
        throw new UsageError(`--prefer "${p}" is not a rail id, network or namespace.`, 'pay');
    const init = await requestInit('pay', { method: values.method, header: values.header, data: values.data });

    const loaded = await loadWallets(await readWalletSettings(process.env, values.config));
    try {
      if (loaded.wallets.length === 0) {
        progress(
          `No wallet is configured (set ${walletSettingNames.join(', ')}, or --config); a 402 will not be paid.`,
        );
      }
      const policy: SpendingPolicy = applyMaxFlags({}, maxFlags);
      const pay = payingFetch(announce(fetch), {
        adapters: loaded.adapters,
        wallets: loaded.wallets,
        policy,
        ...(prefer.length > 0 ? { prefer } : {}),
      });
      progress(`${init.method} ${target.href}`);
      let response: Response;
      try {
        response = await pay(target.href, init);
      } catch (error) {
        if (error instanceof NoAcceptableOfferError) throw new CliError(refusal(error, loaded.kinds));
        if (isFetchFailure(error)) throw unreachable(error, target, 'The server');
        throw error;
      }
      return await report(target.href, response, values.json === true, values['receipt-out']);
    } finally {
      loaded.close();
    }
  },
});

/** Logs the 402 and the paid retry to stderr (progress on the long step: settlement). */
function announce(fetchImpl: FetchLike): FetchLike {
  return async (input, init) => {
    const signature = new Headers(init?.headers).get(headerNames.paymentSignature);
    if (signature !== null) {
      try {
        const { accepted } = decodePaymentSignatureHeader(signature);
        progress(`Paying ${accepted.amount} ${accepted.asset} on ${accepted.network}; waiting for settlement…`);
      } catch {
        progress('Paying; waiting for settlement…');
      }
    } else if (new Headers(init?.headers).has(headerNames.v1Payment))
      progress('Paying (x402 v1); waiting for settlement…');
    const started = performance.now();
    const response = await fetchImpl(input, init);
    if (response.status === 402 && signature === null) progress('402 Payment Required: choosing a rail…');
    else if (signature !== null)
      progress(`Server answered ${response.status} in ${Math.round(performance.now() - started)} ms.`);
    return response;
  };
}

function refusal(error: NoAcceptableOfferError, kinds: string[]): string {
  const lines = error.rejections.map(
    (r) => `  - #${r.index} ${offerKind(r)} ${r.network} ${r.amount} ${r.asset}: ${r.reason} (${r.message})`,
  );
  const held = kinds.length === 0 ? 'no wallet' : `wallets: ${kinds.join(', ')}`;
  const capped = error.rejections.some((r) => r.reason === 'over_request_cap');
  const hint = capped ? '\nTo pay more, raise the cap: --max <amount> (every asset) or --max <asset>=<amount>.' : '';
  return `Nothing was paid: no offer of the server is acceptable (${held}).\n${lines.join('\n')}${hint}`;
}

/** The offer's scheme and, where the scheme has several, its transfer method: `exact`, `exact/eip2612`. */
function offerKind(r: NoAcceptableOfferError['rejections'][number]): string {
  return r.assetTransferMethod === undefined ? r.scheme : `${r.scheme}/${r.assetTransferMethod}`;
}

async function report(url: string, response: Response, json: boolean, receiptOut: string | undefined): Promise<number> {
  const outcome = receiptOf(response);
  const body = await response.text();
  if (receiptOut !== undefined && outcome?.signedReceipt)
    await writeFile(receiptOut, `${JSON.stringify(outcome.signedReceipt, null, 2)}\n`);
  const result: PayResult = {
    url,
    status: response.status,
    ok: response.ok,
    paid: outcome !== undefined,
    ...(outcome
      ? {
          rail: outcome.rail,
          network: outcome.offer.network,
          asset: outcome.offer.asset,
          amount: outcome.offer.amount,
          elapsedMs: outcome.elapsedMs,
          ...(outcome.receipt ? { receipt: outcome.receipt } : {}),
          ...(outcome.signedReceipt ? { signedReceipt: outcome.signedReceipt } : {}),
          ...(outcome.settleResponse ? { settleResponse: outcome.settleResponse } : {}),
          ...(outcome.receiptSource ? { receiptSource: outcome.receiptSource } : {}),
          ...(outcome.receiptCheck ? { receiptCheck: outcome.receiptCheck } : {}),
          ...(outcome.receiptError ? { receiptError: outcome.receiptError.message } : {}),
          ...(outcome.refused
            ? {
                refused: {
                  status: outcome.refused.refused.status,
                  ...(outcome.refused.refused.reason ? { reason: outcome.refused.refused.reason } : {}),
                },
              }
            : {}),
        }
      : {}),
    receiptVerified:
      outcome?.receipt !== undefined &&
      outcome.receiptError === undefined &&
      (outcome.receiptCheck === 'signature' || outcome.receiptCheck === 'on_chain'),
    contentType: response.headers.get('content-type'),
    body,
  };
  if (json) printJson(result);
  else {
    process.stdout.write(body.endsWith('\n') || body === '' ? body : `${body}\n`);
    describeOutcome(result, outcome);
  }
  if (outcome?.refused) progress(outcome.refused.message);
  if (outcome?.receiptError) {
    progress(`The receipt did not check out: ${outcome.receiptError.message}`);
    return 1;
  }
  if (!response.ok) {
    progress(
      `HTTP ${response.status}${response.status === 402 ? ': the server did not accept the payment (or no wallet could pay).' : '.'}`,
    );
    return 1;
  }
  return 0;
}

function describeOutcome(result: PayResult, outcome: PaymentOutcome | undefined): void {
  if (!outcome) {
    progress(`HTTP ${result.status} (no payment needed).`);
    return;
  }
  const r = outcome.receipt;
  if (!r) {
    progress(
      `Paid with ${outcome.rail} (${result.amount} ${result.asset} on ${result.network}) in ${outcome.elapsedMs} ms; the server sent no receipt.`,
    );
    return;
  }
  progress(`Receipt (${receiptProvenance(outcome)}):`);
  progress(
    table([
      ['id', r.id],
      ['issuer', r.issuer],
      ['status', r.status],
      ['rail', `${r.rail} (${r.scheme})`],
      ['network', r.network],
      ['amount', `${r.amount} ${r.asset}`],
      ['payer', r.payer || '(node)'],
      ['payee', r.payee],
      ['reference', r.reference],
      ['request', `${r.request.method} ${r.request.url}`],
      ['issued', r.issuedAt],
      ['took', `${outcome.elapsedMs} ms`],
    ]),
  );
}

/** Where a receipt came from and what was checked, in words: never claims a signature that does not exist. */
function receiptProvenance(outcome: PaymentOutcome): string {
  if (outcome.receiptSource === 'server') {
    return outcome.receiptCheck === 'signature'
      ? "signed by the server; signature verified against the issuer's JWKS, bound to this request and offer"
      : 'signed by the server; NOT verified';
  }
  const built = "built from the server's settlement answer; the server signed no receipt";
  if (outcome.receiptCheck === 'on_chain')
    return `${built}; checked on chain: the transaction moved the amount from this wallet to the payee`;
  return `unchecked: ${built}, and the rail could not check it on chain`;
}
