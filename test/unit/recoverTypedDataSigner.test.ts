import { recoverTypedDataAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { recoverTypedDataSigner } from '../../adapters/evm/recoverTypedDataSigner';

const domain = {
  name: 'Rails USD',
  version: '2',
  chainId: 31337,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
} as const;
const types = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
  ],
} as const;

describe('recoverTypedDataSigner (native secp256k1 when installed, viem otherwise)', () => {
  it('the native binding loads here, so the fast path is the one under test', async () => {
    const mod = (await import('secp256k1/bindings.js')) as { default?: { ecdsaRecover?: unknown } };
    expect(typeof (mod.default ?? (mod as { ecdsaRecover?: unknown })).ecdsaRecover).toBe('function');
  });

  it('agrees with viem on 25 random signers, and a changed message recovers someone else', async () => {
    for (let i = 0; i < 25; i++) {
      const account = privateKeyToAccount(generatePrivateKey());
      const message = { owner: account.address, value: BigInt(i + 1), nonce: BigInt(i) };
      const signature = await account.signTypedData({ domain, types, primaryType: 'Permit', message });
      const typed = { domain, types, primaryType: 'Permit' as const, message, signature };
      expect(await recoverTypedDataSigner(typed)).toBe(account.address);
      expect(await recoverTypedDataSigner(typed)).toBe(await recoverTypedDataAddress(typed));
      expect(await recoverTypedDataSigner({ ...typed, message: { ...message, value: message.value + 1n } })).not.toBe(
        account.address,
      );
    }
  });

  it('fails like viem on an unrecoverable signature or a v it does not know', async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const message = { owner: account.address, value: 5n, nonce: 0n };
    for (const broken of [`0x${'00'.repeat(64)}1b`, `0x${'11'.repeat(64)}05`] as const) {
      const viemError = await recoverTypedDataAddress({
        domain,
        types,
        primaryType: 'Permit',
        message,
        signature: broken,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const ours = await recoverTypedDataSigner({
        domain,
        types,
        primaryType: 'Permit',
        message,
        signature: broken,
      }).then(
        (a) => a,
        (e: unknown) => e,
      );
      if (viemError) expect(ours).toBeInstanceOf(Error);
      else
        expect(ours).toBe(
          await recoverTypedDataAddress({ domain, types, primaryType: 'Permit', message, signature: broken }),
        );
    }
  });
});
