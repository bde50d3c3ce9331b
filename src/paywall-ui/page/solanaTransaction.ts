/**
 * A minimal Solana v0 transaction builder for the page (instead of all of web3.js): the x402 `exact` SVM
 * payment `[SetComputeUnitLimit, SetComputeUnitPrice, TransferChecked, Memo]` with the server's fee payer,
 * compiled like web3.js `compileToV0Message` (fee payer first; writable signers, read-only signers, writable,
 * read-only; no lookup tables), and associated token addresses derived as the ATA program does.
 */
import { base58Decode, base58Encode } from '../../../adapters/solana/base58';

export const TOKEN_PROGRAM = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
export const TOKEN_2022_PROGRAM = 'TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb';
const ATA_PROGRAM = 'ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL';
const COMPUTE_BUDGET_PROGRAM = 'ComputeBudget111111111111111111111111111111';
const MEMO_PROGRAM = 'MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr';

type AccountMeta = { key: string; signer: boolean; writable: boolean };
type Instruction = { program: string; accounts: AccountMeta[]; data: Uint8Array };

const P = 2n ** 255n - 19n;
const D = (-121665n * modPow(121666n, P - 2n)) % P;

function modPow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = ((base % P) + P) % P;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

/** True when 32 bytes decode to a point of edwards25519 (a program-derived address must not). */
export function isOnCurve(bytes: Uint8Array): boolean {
  let y = 0n;
  for (let i = 31; i >= 0; i -= 1) y = (y << 8n) | BigInt(i === 31 ? (bytes[i] ?? 0) & 0x7f : (bytes[i] ?? 0));
  if (y >= P) return false;
  const y2 = (y * y) % P;
  const u = (y2 - 1n + P) % P;
  const v = (D * y2 + 1n) % P;
  const x2 = (u * modPow(v, P - 2n)) % P;
  if (x2 === 0n) return ((bytes[31] ?? 0) & 0x80) === 0;
  return modPow(x2, (P - 1n) / 2n) === 1n;
}

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', joined));
}

/** The associated token account of `owner` for `mint` under `tokenProgram` (findProgramAddress). */
export async function associatedTokenAddress(owner: string, mint: string, tokenProgram: string): Promise<string> {
  const seeds = [base58Decode(owner), base58Decode(tokenProgram), base58Decode(mint)];
  const tail = [base58Decode(ATA_PROGRAM), new TextEncoder().encode('ProgramDerivedAddress')];
  for (let bump = 255; bump >= 0; bump -= 1) {
    const hash = await sha256(...seeds, Uint8Array.of(bump), ...tail);
    if (!isOnCurve(hash)) return base58Encode(hash);
  }
  throw new Error('no program address found');
}

function compactU16(n: number): number[] {
  const out: number[] = [];
  let rest = n;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    if (rest === 0) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function u64(value: bigint): number[] {
  return Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(8 * i)) & 0xffn));
}

/** Parameters of {@link buildExactPayment}. */
export type BuildExactPaymentParameters = {
  payer: string;
  feePayer: string;
  mint: string;
  tokenProgram: string;
  decimals: number;
  payTo: string;
  amount: bigint;
  recentBlockhash: string;
  memo: string;
};

/** The unsigned wire transaction (two empty signature slots: fee payer, payer) of an x402 `exact` SVM payment. */
export async function buildExactPayment(p: BuildExactPaymentParameters): Promise<Uint8Array> {
  const source = await associatedTokenAddress(p.payer, p.mint, p.tokenProgram);
  const destination = await associatedTokenAddress(p.payTo, p.mint, p.tokenProgram);
  const instructions: Instruction[] = [
    { program: COMPUTE_BUDGET_PROGRAM, accounts: [], data: Uint8Array.from([2, ...u64(20_000n).slice(0, 4)]) },
    { program: COMPUTE_BUDGET_PROGRAM, accounts: [], data: Uint8Array.from([3, ...u64(1n)]) },
    {
      program: p.tokenProgram,
      accounts: [
        { key: source, signer: false, writable: true },
        { key: p.mint, signer: false, writable: false },
        { key: destination, signer: false, writable: true },
        { key: p.payer, signer: true, writable: false },
      ],
      data: Uint8Array.from([12, ...u64(p.amount), p.decimals]),
    },
    { program: MEMO_PROGRAM, accounts: [], data: new TextEncoder().encode(p.memo) },
  ];
  // Keys in first-seen order with merged flags, then grouped as web3.js compiles them.
  const keys = new Map<string, { signer: boolean; writable: boolean }>([
    [p.feePayer, { signer: true, writable: true }],
  ]);
  const see = (key: string, signer: boolean, writable: boolean) => {
    const known = keys.get(key);
    keys.set(key, { signer: (known?.signer ?? false) || signer, writable: (known?.writable ?? false) || writable });
  };
  for (const ix of instructions) {
    see(ix.program, false, false);
    for (const a of ix.accounts) see(a.key, a.signer, a.writable);
  }
  const entries = [...keys.entries()];
  const group = (signer: boolean, writable: boolean) =>
    entries.filter(([, f]) => f.signer === signer && f.writable === writable).map(([k]) => k);
  const ordered = [...group(true, true), ...group(true, false), ...group(false, true), ...group(false, false)];
  const signers = group(true, true).length + group(true, false).length;
  const index = new Map(ordered.map((k, i) => [k, i]));
  const message: number[] = [
    0x80,
    signers,
    group(true, false).length,
    group(false, false).length,
    ...compactU16(ordered.length),
  ];
  for (const key of ordered) message.push(...base58Decode(key));
  message.push(...base58Decode(p.recentBlockhash));
  message.push(...compactU16(instructions.length));
  for (const ix of instructions) {
    message.push(
      index.get(ix.program) ?? 0,
      ...compactU16(ix.accounts.length),
      ...ix.accounts.map((a) => index.get(a.key) ?? 0),
    );
    message.push(...compactU16(ix.data.length), ...ix.data);
  }
  message.push(0); // no address table lookups
  return Uint8Array.from([...compactU16(signers), ...new Array<number>(64 * signers).fill(0), ...message]);
}
