/**
 * The x402-rails demo: every devnet up, one paid server taking four rails, ten clients paying (three through Permit2, one over MPP; or refused),
 * a table of receipts verified against the server's published JWKS. Exits non-zero when any step fails.
 */
import { runDemo } from '../fixtures/demo/runDemo';

runDemo().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
