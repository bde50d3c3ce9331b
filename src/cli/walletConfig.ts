import { z } from 'zod';
import { CliError } from './errors';
import { readJsonInput } from './readJsonInput';

/**
 * Wallet settings of `pay`, named as the environment variables. A `--config` JSON file uses the same names
 * (`{"X402_EVM_PRIVATE_KEY": "0x…", "X402_EVM_RPC_URL": "http://…"}`); its values win over the environment.
 */
export const walletSettingNames = [
  'X402_EVM_PRIVATE_KEY',
  'X402_EVM_RPC_URL',
  'X402_SOLANA_SECRET_KEY',
  'X402_SOLANA_RPC_URL',
  'X402_LND_SOCKET',
  'X402_LND_CERT',
  'X402_LND_MACAROON',
] as const;

/** One of {@link walletSettingNames}. */
export type WalletSettingName = (typeof walletSettingNames)[number];

/** Wallet settings, each optional. */
export type WalletSettings = Partial<Record<WalletSettingName, string>>;

const ConfigFileSchema = z
  .object(Object.fromEntries(walletSettingNames.map((n) => [n, z.string().min(1).optional()])))
  .strict();

/**
 * Reads wallet settings from the environment and, when given, a JSON config file (which wins).
 * Errors name the setting, never echo its value.
 *
 * @example const settings = await readWalletSettings(process.env, '~/.x402.json');
 */
export async function readWalletSettings(env: NodeJS.ProcessEnv, configPath?: string): Promise<WalletSettings> {
  const settings: WalletSettings = {};
  for (const name of walletSettingNames) {
    const value = env[name];
    if (value !== undefined && value !== '') settings[name] = value;
  }
  if (configPath === undefined) return settings;
  const json = await readJsonInput(configPath, 'config');
  const parsed = ConfigFileSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) =>
      i.code === 'unrecognized_keys'
        ? `unknown field(s) ${i.keys.join(', ')}`
        : `${i.path.join('.')} must be a non-empty string`,
    );
    throw new CliError(
      `The config file ${configPath} is invalid: ${where.join('; ')}. Fields: ${walletSettingNames.join(', ')}.`,
    );
  }
  for (const name of walletSettingNames) {
    const value = parsed.data[name];
    if (typeof value === 'string') settings[name] = value;
  }
  return settings;
}
