import { readdirSync, readFileSync } from 'node:fs';

/**
 * Command lines of the running processes that contain every one of `words` (Linux `/proc`; elsewhere an empty
 * list, so the check is skipped rather than wrong).
 *
 * @example processesMatching(['anvil', '--port', '8545'])
 */
export function processesMatching(words: string[]): string[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const pid of pids) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (words.every((word) => args.some((arg) => arg.includes(word)))) found.push(`${pid} ${args.join(' ')}`);
  }
  return found;
}

/** True when something answers HTTP at `url` (any status); false when the connection is refused. */
export async function answers(url: string, init?: RequestInit): Promise<boolean> {
  try {
    await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}
