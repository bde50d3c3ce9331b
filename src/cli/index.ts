/**
 * The `x402-rails` CLI program, built to dist/cli.js (which bin/x402-rails.js, the package.json `bin`, runs): runs {@link main} on the process
 * arguments, sets the exit code, and exits once stdout is flushed — open clients (gRPC channels, HTTP
 * keep-alive sockets) must not keep a finished command alive.
 *
 * @example npx x402-rails devnet up --json
 */
import { main } from './main';

let settled = false;
// If the event loop drains while a command is still awaiting something that can never happen, Node would
// exit 0 as if it had succeeded; report it and fail instead.
process.exitCode = 1;
process.once('beforeExit', () => {
  if (!settled)
    process.stderr.write(
      'x402-rails: the command stopped before finishing (a pending step can never complete); this is a bug.\n',
    );
});

main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
    process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    settled = true;
    process.stderr.write(`x402-rails: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
