import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaseError, ContractFunctionRevertedError, domainSeparator, maxUint256, type Address, type Hex } from 'viem';
import {
  PERMIT2_ADDRESS,
  X402_EXACT_PERMIT2_PROXY_ADDRESS,
  X402_UPTO_PERMIT2_PROXY_ADDRESS,
  exactPermit2WitnessTypes,
  permit2Abi,
  uptoPermit2WitnessTypes,
  x402ExactPermit2ProxyAbi,
  x402UptoPermit2ProxyAbi,
} from '../../adapters/evm/permit2Abi';
import { permit2SourceHashes } from '../../fixtures/evm/compilePermit2';
import {
  permit2Artifacts,
  permit2Installation,
  railsTokenAbi,
  startEvmDevnet,
  type EvmDevnet,
} from '../../fixtures/evm';
import {
  x402ExactPermit2ProxyAddress,
  x402UptoPermit2ProxyAddress,
  PERMIT2_ADDRESS as OFFICIAL_PERMIT2,
} from '@x402/evm';

let devnet: EvmDevnet;
beforeAll(async () => {
  devnet = await startEvmDevnet();
});
afterAll(async () => {
  await devnet?.stop();
});

/** The revert's error name, or 'ok'. */
async function outcome(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return 'ok';
  } catch (error) {
    const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null;
    return reverted instanceof ContractFunctionRevertedError ? (reverted.data?.errorName ?? 'reverted') : String(error);
  }
}

async function signExact(p: {
  amount: bigint;
  to: Address;
  nonce: bigint;
  deadline: bigint;
  spender?: Address;
}): Promise<Hex> {
  return devnet.walletClientFor('payer').signTypedData({
    domain: { name: 'Permit2', chainId: devnet.chainId, verifyingContract: PERMIT2_ADDRESS },
    types: exactPermit2WitnessTypes,
    primaryType: 'PermitWitnessTransferFrom',
    message: {
      permitted: { token: devnet.token.address, amount: p.amount },
      spender: p.spender ?? X402_EXACT_PERMIT2_PROXY_ADDRESS,
      nonce: p.nonce,
      deadline: p.deadline,
      witness: { to: p.to, validAfter: 0n },
    },
  });
}

describe('devnet Permit2 and x402 proxies at the canonical addresses', () => {
  it('are at the addresses the official SDK uses, with the committed code', async () => {
    expect([PERMIT2_ADDRESS, X402_EXACT_PERMIT2_PROXY_ADDRESS, X402_UPTO_PERMIT2_PROXY_ADDRESS]).toEqual([
      OFFICIAL_PERMIT2,
      x402ExactPermit2ProxyAddress,
      x402UptoPermit2ProxyAddress,
    ]);
    for (const { address, code } of permit2Installation)
      expect(await devnet.publicClient.getCode({ address })).toBe(code);
  });

  it('Permit2 answers the EIP-712 domain separator of the canonical address (as the deployed Permit2 does there)', async () => {
    const separator = await devnet.publicClient.readContract({
      address: PERMIT2_ADDRESS,
      abi: permit2Abi,
      functionName: 'DOMAIN_SEPARATOR',
    });
    expect(separator).toBe(
      domainSeparator({ domain: { name: 'Permit2', chainId: devnet.chainId, verifyingContract: PERMIT2_ADDRESS } }),
    );
    // and not that of any other address (the code does not carry a separator from elsewhere)
    expect(separator).not.toBe(
      domainSeparator({
        domain: { name: 'Permit2', chainId: devnet.chainId, verifyingContract: X402_EXACT_PERMIT2_PROXY_ADDRESS },
      }),
    );
  });

  it('the proxies point at Permit2 and use the SDK witness type strings', async () => {
    const read = (address: Address) =>
      devnet.publicClient.readContract({ address, abi: x402ExactPermit2ProxyAbi, functionName: 'PERMIT2' });
    expect(await read(X402_EXACT_PERMIT2_PROXY_ADDRESS)).toBe(PERMIT2_ADDRESS);
    expect(await read(X402_UPTO_PERMIT2_PROXY_ADDRESS)).toBe(PERMIT2_ADDRESS);
    const abi = [
      {
        type: 'function',
        name: 'WITNESS_TYPE_STRING',
        inputs: [],
        outputs: [{ type: 'string' }],
        stateMutability: 'view',
      },
    ] as const;
    expect(
      await devnet.publicClient.readContract({
        address: X402_EXACT_PERMIT2_PROXY_ADDRESS,
        abi,
        functionName: 'WITNESS_TYPE_STRING',
      }),
    ).toBe('Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,uint256 validAfter)');
    expect(
      await devnet.publicClient.readContract({
        address: X402_UPTO_PERMIT2_PROXY_ADDRESS,
        abi,
        functionName: 'WITNESS_TYPE_STRING',
      }),
    ).toBe(
      'Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,address facilitator,uint256 validAfter)',
    );
  });

  it('exact proxy: a signed witness transfer pays `to` once; a replay, another payee and an expired permit revert', async () => {
    const { payer, payee, payer2 } = devnet.accounts;
    const approve = await devnet.walletClientFor('payer').writeContract({
      address: devnet.token.address,
      abi: railsTokenAbi,
      functionName: 'approve',
      args: [PERMIT2_ADDRESS, maxUint256],
    });
    await devnet.publicClient.waitForTransactionReceipt({ hash: approve });
    const facilitator = devnet.walletClientFor('facilitator');
    const now = BigInt(Math.floor(Date.now() / 1000));
    const nonce = (7n << 8n) | 3n; // word 7, bit 3
    const permit = { permitted: { token: devnet.token.address, amount: 1_250n }, nonce, deadline: now + 600n };
    const signature = await signExact({ amount: 1_250n, to: payee.address, nonce, deadline: permit.deadline });
    const settle = (witnessTo: Address, sig: Hex = signature, p = permit) =>
      devnet.publicClient
        .simulateContract({
          account: facilitator.account,
          address: X402_EXACT_PERMIT2_PROXY_ADDRESS,
          abi: x402ExactPermit2ProxyAbi,
          functionName: 'settle',
          args: [p, payer.address, { to: witnessTo, validAfter: 0n }, sig],
        })
        .then(({ request }) => facilitator.writeContract(request));

    expect(await outcome(() => settle(payer2.address))).toBe('InvalidSigner'); // the witness binds the payee
    const [payerBefore, payeeBefore] = [await devnet.balanceOf(payer.address), await devnet.balanceOf(payee.address)];
    const hash = await settle(payee.address);
    expect((await devnet.publicClient.waitForTransactionReceipt({ hash })).status).toBe('success');
    expect(await devnet.balanceOf(payer.address)).toBe(payerBefore - 1_250n);
    expect(await devnet.balanceOf(payee.address)).toBe(payeeBefore + 1_250n);
    expect(
      await devnet.publicClient.readContract({
        address: PERMIT2_ADDRESS,
        abi: permit2Abi,
        functionName: 'nonceBitmap',
        args: [payer.address, 7n],
      }),
    ).toBe(1n << 3n);
    expect(await outcome(() => settle(payee.address))).toBe('InvalidNonce');

    const late = { ...permit, nonce: 99n, deadline: now - 1n };
    expect(
      await outcome(() =>
        signExact({ amount: 1_250n, to: payee.address, nonce: 99n, deadline: late.deadline }).then((sig) =>
          settle(payee.address, sig, late),
        ),
      ),
    ).toBe('SignatureExpired');
  });

  it('upto proxy: only the named facilitator settles, and never more than the maximum', async () => {
    const { payer, payee, facilitator } = devnet.accounts;
    const now = BigInt(Math.floor(Date.now() / 1000));
    const permit = { permitted: { token: devnet.token.address, amount: 1_000n }, nonce: 4242n, deadline: now + 600n };
    const witness = { to: payee.address, facilitator: facilitator.address, validAfter: 0n };
    const signature = await devnet.walletClientFor('payer').signTypedData({
      domain: { name: 'Permit2', chainId: devnet.chainId, verifyingContract: PERMIT2_ADDRESS },
      types: uptoPermit2WitnessTypes,
      primaryType: 'PermitWitnessTransferFrom',
      message: {
        permitted: permit.permitted,
        spender: X402_UPTO_PERMIT2_PROXY_ADDRESS,
        nonce: permit.nonce,
        deadline: permit.deadline,
        witness,
      },
    });
    const settle = (by: 'facilitator' | 'payee', amount: bigint) => {
      const client = devnet.walletClientFor(by);
      return devnet.publicClient
        .simulateContract({
          account: client.account,
          address: X402_UPTO_PERMIT2_PROXY_ADDRESS,
          abi: x402UptoPermit2ProxyAbi,
          functionName: 'settle',
          args: [permit, amount, payer.address, witness, signature],
        })
        .then(({ request }) => client.writeContract(request));
    };
    expect(await outcome(() => settle('payee', 400n))).toBe('UnauthorizedFacilitator');
    expect(await outcome(() => settle('facilitator', 1_001n))).toBe('AmountExceedsPermitted');
    const payeeBefore = await devnet.balanceOf(payee.address);
    await devnet.publicClient.waitForTransactionReceipt({ hash: await settle('facilitator', 400n) });
    expect(await devnet.balanceOf(payee.address)).toBe(payeeBefore + 400n);
  });
});

describe('committed Permit2 artifacts', () => {
  it('were compiled from the current sources (run `npm run compile:permit2` after editing them)', () => {
    const json: unknown = JSON.parse(
      readFileSync(
        fileURLToPath(new URL('../../fixtures/evm/artifacts/Permit2Contracts.json', import.meta.url)),
        'utf8',
      ),
    );
    expect(permit2Artifacts.sourceHashes).toEqual(permit2SourceHashes());
    expect(json).toEqual(JSON.parse(JSON.stringify(permit2Artifacts)));
  });
});
