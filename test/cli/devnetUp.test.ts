import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { answers, processesMatching } from './processes';
import { startCli } from './runCli';

type DevnetUpJson = {
  evm: {
    rpcUrl: string;
    chainId: number;
    network: string;
    token: { address: string };
    accounts: Record<string, { address: string; privateKey: string }>;
  };
  solana: {
    rpcUrl: string;
    network: string;
    mint: string;
    keypairs: Record<string, { publicKey: string; secretKey: string }>;
  };
  lightning: {
    network: string;
    nodes: Record<string, { socket: string; publicKey: string; cert: string; macaroon: string }>;
  };
  walletEnv: Record<string, string>;
  serverEnv: Record<string, string>;
  timings: { readyMs: number; totalMs: number };
};

const rpc = async (url: string, method: string): Promise<unknown> => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: [] }),
  });
  return ((await response.json()) as { result: unknown }).result;
};

const tcpOpen = (socket: string): Promise<boolean> =>
  new Promise((resolve) => {
    const [host = 'localhost', port = '0'] = socket.split(':');
    const conn = connect({ host, port: Number(port) }, () => {
      conn.destroy();
      resolve(true);
    });
    conn.once('error', () => resolve(false));
  });

describe('x402-rails devnet up', () => {
  it('--json prints live endpoints and funded keys of every rail, then stops on SIGTERM with exit 0 and no anvil left', async () => {
    const devnets = await startCli<DevnetUpJson>(['devnet', 'up', '--json']);
    const { evm, solana, lightning, walletEnv, serverEnv } = devnets.ready;
    const anvilPort = new URL(evm.rpcUrl).port;
    let stopped = false;
    try {
      expect(devnets.stderr()).toMatch(/Devnets up in \d+ ms/);
      // EVM: anvil answers with the chain id it printed; the token and the payer's key are there.
      expect(await rpc(evm.rpcUrl, 'eth_chainId')).toBe(`0x${evm.chainId.toString(16)}`);
      expect(evm.network).toBe(`eip155:${evm.chainId}`);
      expect(evm.token.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
      expect(evm.accounts['payer']?.privateKey).toMatch(/^0x[0-9a-f]{64}$/);
      expect(processesMatching(['anvil', '--port', anvilPort])).toHaveLength(1);
      // Solana: the litesvm RPC answers; the payer keypair is printed.
      expect(await rpc(solana.rpcUrl, 'getHealth')).toBe('ok');
      expect(solana.network).toMatch(/^solana:/);
      expect(solana.keypairs['payer']?.secretKey).toMatch(/^[1-9A-HJ-NP-Za-km-z]{80,90}$/);
      // Lightning: every node's gRPC socket accepts connections; alice has credentials.
      expect(lightning.network).toBe('bip122:0f9188f13cb7b2c71f2a335e3a4fc328');
      for (const node of Object.values(lightning.nodes)) expect(await tcpOpen(node.socket)).toBe(true);
      expect(lightning.nodes['alice']?.macaroon).toMatch(/^[0-9a-f]+$/);
      // The ready-made wallet settings for `pay` point at these devnets.
      expect(walletEnv).toMatchObject({
        X402_EVM_RPC_URL: evm.rpcUrl,
        X402_SOLANA_RPC_URL: solana.rpcUrl,
        X402_LND_SOCKET: lightning.nodes['alice']?.socket,
      });
      // And the settings of the server examples (examples/evmSettings.ts): the deployer pays gas, the payee is paid.
      expect(serverEnv).toEqual({
        X402_EVM_RPC_URL: evm.rpcUrl,
        X402_EVM_GAS_PRIVATE_KEY: evm.accounts['deployer']?.privateKey,
        X402_EVM_TOKEN_ADDRESS: evm.token.address,
        X402_EVM_PAY_TO: evm.accounts['payee']?.address,
      });

      const exit = await devnets.stop('SIGTERM');
      stopped = true;
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(exit.stderr).toContain('SIGTERM: stopping the devnets');
      expect(exit.stderr).toContain('Stopped.');
      expect(processesMatching(['anvil', '--port', anvilPort])).toEqual([]);
      expect(await answers(evm.rpcUrl, { method: 'POST' })).toBe(false);
      expect(await answers(solana.rpcUrl, { method: 'POST' })).toBe(false);
    } finally {
      if (!stopped) await devnets.stop('SIGKILL');
    }
  });
});
