import { ReceiptInvalidError } from '../../core/errors';
import {
  RECEIPT_EXTENSION_KEY,
  RECEIPT_JWKS_PATH,
  verifyReceipt,
  type Receipt,
  type VerifyReceiptOptions,
} from '../../core/receipt';
import { expectPositionals } from '../args';
import { defineCommand } from '../command';
import { CliError, UsageError } from '../errors';
import { print, printJson, table } from '../output';
import { readJwks } from '../readJwks';
import { readJsonInput } from '../readJsonInput';

const help = `Usage: x402-rails receipt verify <receipt.json | -> --jwks <url | file> [options]

Verifies a signed x402-rails receipt offline against its issuer's public keys: the schema, the EdDSA
signature over every field, and optionally the request it must be bound to and its issuer. Prints the
verified fields, or why it is not valid (exit 1).

<receipt.json> may hold the signed receipt itself, the output of \`x402-rails pay --json\`, or a
SettleResponse with the receipt under extensions["${RECEIPT_EXTENSION_KEY}"]. "-" reads stdin.

Options:
  --jwks <url|file>   the issuer's JWKS: a file, a URL, or the issuer's origin (then ${RECEIPT_JWKS_PATH})
  --issuer <origin>   require this issuer
  --url <url>         require the receipt to be for this request URL
  --method <method>   require the receipt to be for this request method
  --json              print {"valid": true, "receipt": {…}} or {"valid": false, "error": "…"} on stdout
  -h, --help          show this help`;

/** `receipt verify`: verify a receipt offline against a JWKS. */
export const receiptVerify = defineCommand({
  name: 'receipt verify',
  summary: "verify a signed receipt offline against the issuer's JWKS",
  help,
  options: {
    jwks: { type: 'string' },
    issuer: { type: 'string' },
    url: { type: 'string' },
    method: { type: 'string' },
  },
  async run({ values, positionals }) {
    const [source = ''] = expectPositionals('receipt verify', positionals, ['receipt.json|-']);
    if (values.jwks === undefined)
      throw new UsageError(
        "Missing --jwks <url|file>: the issuer's public keys are needed to verify.",
        'receipt verify',
      );
    const signed = extractReceipt(await readJsonInput(source, 'receipt'), source);
    const jwks = await readJwks(values.jwks, RECEIPT_JWKS_PATH);
    const options: VerifyReceiptOptions = {
      ...(values.issuer !== undefined ? { issuer: values.issuer } : {}),
      ...(values.url !== undefined || values.method !== undefined
        ? {
            request: {
              ...(values.url !== undefined ? { url: values.url } : {}),
              ...(values.method !== undefined ? { method: values.method.toUpperCase() } : {}),
            },
          }
        : {}),
    };
    let receipt: Receipt;
    try {
      receipt = await verifyReceipt(signed, jwks, options);
    } catch (error) {
      if (!(error instanceof ReceiptInvalidError)) throw error;
      if (values.json) printJson({ valid: false, error: error.message, code: error.code });
      else process.stderr.write(`✗ Invalid receipt: ${error.message}\n`);
      return 1;
    }
    if (values.json) printJson({ valid: true, receipt });
    else print(`✓ Valid receipt, signed by a key of the JWKS.\n${formatReceipt(receipt)}`);
    return 0;
  },
});

/** The signed receipt inside what was given: itself, `pay --json` output, or a SettleResponse. */
function extractReceipt(json: unknown, source: string): unknown {
  if (typeof json !== 'object' || json === null)
    throw new CliError(`${source === '-' ? 'stdin' : source} does not hold a receipt object.`);
  if ('signedReceipt' in json && typeof json.signedReceipt === 'object') return json.signedReceipt;
  if (
    'extensions' in json &&
    typeof json.extensions === 'object' &&
    json.extensions !== null &&
    RECEIPT_EXTENSION_KEY in json.extensions
  ) {
    return (json.extensions as Record<string, unknown>)[RECEIPT_EXTENSION_KEY];
  }
  return json;
}

function formatReceipt(r: Receipt): string {
  return table([
    ['id', r.id],
    ['issuer', r.issuer],
    ['status', r.status],
    ['rail', `${r.rail} (${r.scheme})`],
    ['network', r.network],
    ['asset', r.asset],
    ['amount', r.amount],
    ['payer', r.payer || '(node)'],
    ['payee', r.payee],
    ['reference', r.reference],
    ...(r.proof !== undefined ? [['proof', r.proof] as [string, string]] : []),
    [
      'request',
      `${r.request.method} ${r.request.url}${r.request.bodyHash ? ` (body sha256 ${r.request.bodyHash})` : ''}`,
    ],
    ['requirements', r.requirementsHash],
    ['challenge', r.challenge],
    ['issued', r.issuedAt],
    ...(r.settledAt !== undefined ? [['settled', r.settledAt] as [string, string]] : []),
  ]);
}
