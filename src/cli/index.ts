/**
 * The `x402-rails` executable (package.json `bin`, built to dist/cli.js): runs {@link main} on the process
 * arguments, sets the exit code, and exits once stdout is flushed — open clients (gRPC channels, HTTP
 * keep-alive sockets) must not keep a finished command alive.
 *
 * @example npx x402-rails devnet up --json
 */
import { main } from './main';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    process.stderr.write(`x402-rails: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
