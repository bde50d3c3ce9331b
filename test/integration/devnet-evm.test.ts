import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BaseError,
  ContractFunctionRevertedError,
  domainSeparator,
  parseEventLogs,
  parseSignature,
  toHex,
  type Address,
  type Hex,
} from 'viem';
import {
  anvilDevPrivateKeys,
  devAccounts,
  railsTokenAbi,
  railsTokenArtifact,
  startAnvil,
  startEvmDevnet,
  type EvmDevnet,
  type EvmDevnetAccountName,
  type EvmDevnetToken,
} from '../../fixtures/evm';

const transferWithAuthorizationTypes = {
  TransferWithAuthorization: [
    { name: 'from', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' },
    { name: 'validBefore', type: 'uint256' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;

const receiveWithAuthorizationTypes = {
  ReceiveWithAuthorization: transferWithAuthorizationTypes.TransferWithAuthorization,
} as const;

const cancelAuthorizationTypes = {
  CancelAuthorization: [
    { name: 'authorizer', type: 'address' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;

const permitTypes = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

let devnet: EvmDevnet;

beforeAll(async () => {
  devnet = await startEvmDevnet();
  // Visible in the test log; the whole start must stay well under 2 s.
  console.info('EVM devnet timings (ms):', devnet.timings);
});

afterAll(async () => {
  await devnet?.stop();
});

/** A raw JSON-RPC call, without viem (also for methods viem's public client does not type). */
async function rpc(rpcUrl: string, method: string): Promise<unknown> {
  const response = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: [] }),
    signal: AbortSignal.timeout(1000),
  });
  const body: unknown = await response.json();
  return typeof body === 'object' && body !== null && 'result' in body ? body.result : body;
}

const freshNonce = (): Hex => toHex(randomBytes(32));

async function chainNow(): Promise<bigint> {
  const block = await devnet.publicClient.getBlock();
  return block.timestamp;
}

function domainOf(token: EvmDevnetToken) {
  return { name: token.name, version: token.version, chainId: devnet.chainId, verifyingContract: token.address };
}

interface Authorization {
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
}

async function authorization(overrides: Partial<Authorization> = {}): Promise<Authorization> {
  const now = await chainNow();
  return {
    from: devnet.accounts.payer.address,
    to: devnet.accounts.payee.address,
    value: 1_234_567n,
    validAfter: now - 600n,
    validBefore: now + 600n,
    nonce: freshNonce(),
    ...overrides,
  };
}

/** Signs a TransferWithAuthorization as `signer` (default: payer) on `token`'s domain (default: rUSD). */
function signTransfer(auth: Authorization, signer: EvmDevnetAccountName = 'payer', token = devnet.token): Promise<Hex> {
  return devnet.walletClientFor(signer).signTypedData({
    domain: domainOf(token),
    types: transferWithAuthorizationTypes,
    primaryType: 'TransferWithAuthorization',
    message: auth,
  });
}

/** Submits with the (v, r, s) overload, as x402's exact EVM facilitator does for EOA signatures. */
async function submitTransfer(auth: Authorization, signature: Hex): Promise<Hex> {
  const { v, r, s, yParity } = parseSignature(signature);
  const facilitator = devnet.walletClientFor('facilitator');
  const hash = await facilitator.writeContract({
    address: devnet.token.address,
    abi: railsTokenAbi,
    functionName: 'transferWithAuthorization',
    args: [
      auth.from,
      auth.to,
      auth.value,
      auth.validAfter,
      auth.validBefore,
      auth.nonce,
      Number(v ?? BigInt(yParity + 27)),
      r,
      s,
    ],
  });
  const receipt = await devnet.publicClient.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe('success');
  return hash;
}

/** Simulates the (v, r, s) overload and returns the custom error name it reverts with. */
async function revertReason(auth: Authorization, signature: Hex): Promise<string | undefined> {
  const { v, r, s, yParity } = parseSignature(signature);
  try {
    await devnet.publicClient.simulateContract({
      account: devnet.accounts.facilitator.address,
      address: devnet.token.address,
      abi: railsTokenAbi,
      functionName: 'transferWithAuthorization',
      args: [
        auth.from,
        auth.to,
        auth.value,
        auth.validAfter,
        auth.validBefore,
        auth.nonce,
        Number(v ?? BigInt(yParity + 27)),
        r,
        s,
      ],
    });
  } catch (error) {
    return errorName(error);
  }
  return undefined;
}

function errorName(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) throw error;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  return reverted instanceof ContractFunctionRevertedError ? reverted.data?.errorName : undefined;
}

describe('EVM devnet: tokens and accounts', () => {
  it('starts quickly and reports a CAIP-2 network', () => {
    expect(devnet.network).toBe(`eip155:${devnet.chainId}`);
    expect(devnet.chainId).toBe(31337);
    expect(devnet.timings.totalMs).toBeLessThan(2000);
  });

  it('deploys rUSD with USDC-like metadata', async () => {
    const read = <F extends 'name' | 'symbol' | 'decimals' | 'version' | 'owner'>(functionName: F) =>
      devnet.publicClient.readContract({ address: devnet.token.address, abi: railsTokenAbi, functionName });
    expect(await read('name')).toBe('Rails USD');
    expect(await read('symbol')).toBe('rUSD');
    expect(await read('decimals')).toBe(6);
    expect(await read('version')).toBe('2');
    expect(await read('owner')).toBe(devnet.accounts.deployer.address);
    expect(devnet.token).toMatchObject({ name: 'Rails USD', symbol: 'rUSD', decimals: 6, version: '2' });
    expect(devnet.otherToken).toMatchObject({ name: 'Other Token', version: '1', decimals: 6 });
    expect(devnet.otherToken.address).not.toBe(devnet.token.address);
  });

  it('exposes its EIP-712 domain (EIP-5267) with version "2", and DOMAIN_SEPARATOR matches', async () => {
    const [fields, name, version, chainId, verifyingContract, salt, extensions] =
      await devnet.publicClient.readContract({
        address: devnet.token.address,
        abi: railsTokenAbi,
        functionName: 'eip712Domain',
      });
    expect(fields).toBe('0x0f'); // name, version, chainId, verifyingContract
    expect({ name, version, chainId, verifyingContract }).toEqual({
      name: 'Rails USD',
      version: '2',
      chainId: 31337n,
      verifyingContract: devnet.token.address,
    });
    expect(salt).toBe(`0x${'00'.repeat(32)}`);
    expect(extensions).toEqual([]);
    const separator = await devnet.publicClient.readContract({
      address: devnet.token.address,
      abi: railsTokenAbi,
      functionName: 'DOMAIN_SEPARATOR',
    });
    expect(separator).toBe(domainSeparator({ domain: domainOf(devnet.token) }));
  });

  it('funds the named accounts with distinct anvil dev keys', async () => {
    const addresses = Object.values(devnet.accounts).map((a) => a.address);
    expect(new Set(addresses).size).toBe(addresses.length);
    const anvilAccounts = await rpc(devnet.rpcUrl, 'eth_accounts');
    expect(Array.isArray(anvilAccounts) && anvilAccounts.map((a) => String(a).toLowerCase())).toEqual(
      devAccounts(10).map((a) => a.address.toLowerCase()),
    );
    expect(devnet.accounts.payer.privateKey).toBe(anvilDevPrivateKeys[1]);
    expect(await devnet.balanceOf(devnet.accounts.payer2.address)).toBe(1_000_000n * 10n ** 6n);
    expect(await devnet.balanceOf(devnet.accounts.payer.address, devnet.otherToken.address)).toBe(
      1_000_000n * 10n ** 6n,
    );
    expect(await devnet.balanceOf(devnet.accounts.poor.address)).toBe(0n);
    const gas = await devnet.publicClient.getBalance({ address: devnet.accounts.facilitator.address });
    expect(gas).toBeGreaterThan(10n ** 18n);
  });
});

describe('EIP-3009 transferWithAuthorization', () => {
  it('moves exactly the value, emits AuthorizationUsed and flips authorizationState', async () => {
    const auth = await authorization();
    const signature = await signTransfer(auth);
    const payerBefore = await devnet.balanceOf(auth.from);
    const payeeBefore = await devnet.balanceOf(auth.to);
    const stateBefore = await devnet.publicClient.readContract({
      address: devnet.token.address,
      abi: railsTokenAbi,
      functionName: 'authorizationState',
      args: [auth.from, auth.nonce],
    });
    expect(stateBefore).toBe(false);

    const hash = await submitTransfer(auth, signature);

    expect(await devnet.balanceOf(auth.from)).toBe(payerBefore - auth.value);
    expect(await devnet.balanceOf(auth.to)).toBe(payeeBefore + auth.value);
    const stateAfter = await devnet.publicClient.readContract({
      address: devnet.token.address,
      abi: railsTokenAbi,
      functionName: 'authorizationState',
      args: [auth.from, auth.nonce],
    });
    expect(stateAfter).toBe(true);
    const receipt = await devnet.publicClient.getTransactionReceipt({ hash });
    const events = parseEventLogs({ abi: railsTokenAbi, logs: receipt.logs });
    expect(events.map((e) => e.eventName)).toEqual(['AuthorizationUsed', 'Transfer']);
    expect(events[0]?.args).toEqual({ authorizer: auth.from, nonce: auth.nonce });
  });

  it('accepts the bytes-signature overload (USDC v2.2 / smart-wallet path)', async () => {
    const auth = await authorization({ value: 5n });
    const signature = await signTransfer(auth);
    const before = await devnet.balanceOf(auth.to);
    const hash = await devnet.walletClientFor('facilitator').writeContract({
      address: devnet.token.address,
      abi: railsTokenAbi,
      functionName: 'transferWithAuthorization',
      args: [auth.from, auth.to, auth.value, auth.validAfter, auth.validBefore, auth.nonce, signature],
    });
    expect((await devnet.publicClient.waitForTransactionReceipt({ hash })).status).toBe('success');
    expect(await devnet.balanceOf(auth.to)).toBe(before + 5n);
  });

  it('rejects a reused nonce', async () => {
    const auth = await authorization({ value: 1n });
    const signature = await signTransfer(auth);
    await submitTransfer(auth, signature);
    expect(await revertReason(auth, signature)).toBe('AuthorizationUsedOrCanceled');
  });

  it('rejects an expired and a not-yet-valid authorization', async () => {
    const now = await chainNow();
    const expired = await authorization({ validAfter: 0n, validBefore: now - 1n });
    expect(await revertReason(expired, await signTransfer(expired))).toBe('AuthorizationExpired');
    const early = await authorization({ validAfter: now + 3600n, validBefore: now + 7200n });
    expect(await revertReason(early, await signTransfer(early))).toBe('AuthorizationNotYetValid');
  });

  it('rejects a signature by someone other than `from`', async () => {
    const auth = await authorization();
    expect(await revertReason(auth, await signTransfer(auth, 'payer2'))).toBe('InvalidSignature');
  });

  it('rejects a signature made for the other token (wrong EIP-712 domain)', async () => {
    const auth = await authorization();
    expect(await revertReason(auth, await signTransfer(auth, 'payer', devnet.otherToken))).toBe('InvalidSignature');
  });

  it('rejects a tampered value', async () => {
    const auth = await authorization();
    const signature = await signTransfer(auth);
    expect(await revertReason({ ...auth, value: auth.value + 1n }, signature)).toBe('InvalidSignature');
  });

  it('rejects a payer without funds', async () => {
    const auth = await authorization({ from: devnet.accounts.poor.address });
    expect(await revertReason(auth, await signTransfer(auth, 'poor'))).toBe('ERC20InsufficientBalance');
  });

  it('receiveWithAuthorization only works when the payee submits it', async () => {
    const auth = await authorization({ value: 7n });
    const signature = await devnet.walletClientFor('payer').signTypedData({
      domain: domainOf(devnet.token),
      types: receiveWithAuthorizationTypes,
      primaryType: 'ReceiveWithAuthorization',
      message: auth,
    });
    const args = [auth.from, auth.to, auth.value, auth.validAfter, auth.validBefore, auth.nonce, signature] as const;
    const byFacilitator = devnet.publicClient.simulateContract({
      account: devnet.accounts.facilitator.address,
      address: devnet.token.address,
      abi: railsTokenAbi,
      functionName: 'receiveWithAuthorization',
      args,
    });
    expect(await byFacilitator.then(() => undefined, errorName)).toBe('CallerMustBePayee');
    const before = await devnet.balanceOf(auth.to);
    const hash = await devnet.walletClientFor('payee').writeContract({
      address: devnet.token.address,
      abi: railsTokenAbi,
      functionName: 'receiveWithAuthorization',
      args,
    });
    expect((await devnet.publicClient.waitForTransactionReceipt({ hash })).status).toBe('success');
    expect(await devnet.balanceOf(auth.to)).toBe(before + 7n);
  });

  it('cancelAuthorization burns the nonce', async () => {
    const auth = await authorization();
    const transferSignature = await signTransfer(auth);
    const cancelSignature = await devnet.walletClientFor('payer').signTypedData({
      domain: domainOf(devnet.token),
      types: cancelAuthorizationTypes,
      primaryType: 'CancelAuthorization',
      message: { authorizer: auth.from, nonce: auth.nonce },
    });
    const { v, r, s, yParity } = parseSignature(cancelSignature);
    const hash = await devnet.walletClientFor('facilitator').writeContract({
      address: devnet.token.address,
      abi: railsTokenAbi,
      functionName: 'cancelAuthorization',
      args: [auth.from, auth.nonce, Number(v ?? BigInt(yParity + 27)), r, s],
    });
    const receipt = await devnet.publicClient.waitForTransactionReceipt({ hash });
    expect(parseEventLogs({ abi: railsTokenAbi, logs: receipt.logs }).map((e) => e.eventName)).toEqual([
      'AuthorizationCanceled',
    ]);
    expect(await revertReason(auth, transferSignature)).toBe('AuthorizationUsedOrCanceled');
  });
});

describe('EIP-2612 permit on the version "2" domain', () => {
  it('permit then transferFrom moves the value', async () => {
    const owner = devnet.accounts.payer2.address;
    const spender = devnet.accounts.facilitator.address;
    const to = devnet.accounts.payee.address;
    const value = 42_000_000n;
    const nonce = await devnet.publicClient.readContract({
      address: devnet.token.address,
      abi: railsTokenAbi,
      functionName: 'nonces',
      args: [owner],
    });
    const deadline = (await chainNow()) + 600n;
    const signature = await devnet.walletClientFor('payer2').signTypedData({
      domain: domainOf(devnet.token),
      types: permitTypes,
      primaryType: 'Permit',
      message: { owner, spender, value, nonce, deadline },
    });
    const { v, r, s, yParity } = parseSignature(signature);
    const facilitator = devnet.walletClientFor('facilitator');
    const permitHash = await facilitator.writeContract({
      address: devnet.token.address,
      abi: railsTokenAbi,
      functionName: 'permit',
      args: [owner, spender, value, deadline, Number(v ?? BigInt(yParity + 27)), r, s],
    });
    expect((await devnet.publicClient.waitForTransactionReceipt({ hash: permitHash })).status).toBe('success');
    expect(
      await devnet.publicClient.readContract({
        address: devnet.token.address,
        abi: railsTokenAbi,
        functionName: 'allowance',
        args: [owner, spender],
      }),
    ).toBe(value);

    const ownerBefore = await devnet.balanceOf(owner);
    const toBefore = await devnet.balanceOf(to);
    const transferHash = await facilitator.writeContract({
      address: devnet.token.address,
      abi: railsTokenAbi,
      functionName: 'transferFrom',
      args: [owner, to, value],
    });
    expect((await devnet.publicClient.waitForTransactionReceipt({ hash: transferHash })).status).toBe('success');
    expect(await devnet.balanceOf(owner)).toBe(ownerBefore - value);
    expect(await devnet.balanceOf(to)).toBe(toBefore + value);

    // The same permit cannot be replayed: the nonce moved on.
    const replay = devnet.publicClient.simulateContract({
      account: spender,
      address: devnet.token.address,
      abi: railsTokenAbi,
      functionName: 'permit',
      args: [owner, spender, value, deadline, Number(v ?? BigInt(yParity + 27)), r, s],
    });
    expect(await replay.then(() => undefined, errorName)).toBe('InvalidSignature');
  });
});

describe('committed artifact', () => {
  it('was compiled from the current RailsToken.sol (run `npm run compile:token` after editing it)', () => {
    const source = readFileSync(
      fileURLToPath(new URL('../../fixtures/evm/contracts/RailsToken.sol', import.meta.url)),
      'utf8',
    );
    const json: unknown = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../fixtures/evm/artifacts/RailsToken.json', import.meta.url)), 'utf8'),
    );
    const sourceHash = createHash('sha256').update(source.replace(/\r\n/g, '\n'), 'utf8').digest('hex');
    expect(json).toMatchObject({ contractName: 'RailsToken', sourceHash, bytecode: railsTokenArtifact.bytecode });
    expect(railsTokenArtifact.sourceHash).toBe(sourceHash);
    expect(json).toHaveProperty('abi', railsTokenAbi);
  });
});

describe('startAnvil lifecycle', () => {
  it('honours chainId and stop() really kills anvil', async () => {
    const anvil = await startAnvil({ chainId: 4242 });
    const ask = () => rpc(anvil.rpcUrl, 'eth_chainId');
    expect(await ask()).toBe('0x1092');
    await anvil.stop();
    await expect(ask()).rejects.toThrow();
    expect(() => process.kill(anvil.pid, 0)).toThrow(); // no such process
    await anvil.stop(); // idempotent
  });

  it('anvil dies with the process that started it (normal exit and SIGTERM)', async () => {
    const anvilModule = fileURLToPath(new URL('../../fixtures/evm/anvil.ts', import.meta.url));
    // Starts anvil, prints its URL, then either ends without stop() or idles until signalled.
    const runChild = (mode: 'end' | 'sigterm'): Promise<string> =>
      new Promise((resolveUrl, reject) => {
        const code =
          `import { startAnvil } from ${JSON.stringify(anvilModule)};\n` +
          `const anvil = await startAnvil(); console.log(anvil.rpcUrl);\n` +
          (mode === 'sigterm' ? 'setInterval(() => {}, 1000);\n' : '');
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (mode === 'sigterm' && out.includes('\n')) child.kill('SIGTERM');
        });
        child.once('error', reject);
        child.once('exit', () =>
          out.startsWith('http') ? resolveUrl(out.trim()) : reject(new Error(`child said: ${out}`)),
        );
      });
    const urls = await Promise.all([runChild('end'), runChild('sigterm')]);
    for (const url of urls) {
      await expect(rpc(url, 'eth_chainId')).rejects.toThrow();
    }
  });
});
