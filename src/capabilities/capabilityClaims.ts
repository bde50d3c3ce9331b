import { z } from 'zod';
import { AtomicAmountSchema } from '../protocol/schemas';

/**
 * What a capability credential says: who bought it (`sub`, the payer), what it covers (`scope`), how much
 * of it there is (`calls`, `amountCap`), how fast it may be used (`rateLimit`), until when (`exp`), and the
 * payment that bought it (`receipt`, `rail`). Times are seconds since the epoch, as in JWTs.
 *
 * @example const claims = CapabilityClaimsSchema.parse(JSON.parse(payload));
 */
export const CapabilityClaimsSchema = z.object({
  /** Format version. */
  v: z.literal(1),
  /** Unique id; revocation and the remaining count are keyed by it. */
  jti: z.string().min(8).max(128),
  /** Issuer (the server's origin). */
  iss: z.string().min(1).max(512),
  /** The payer that bought it. */
  sub: z.string().max(256),
  /** Route keys (`"GET /weather/:city"`) and upper-case methods it authorizes. */
  scope: z.object({
    routes: z.array(z.string().min(1).max(512)).min(1).max(64),
    methods: z
      .array(z.string().regex(/^[A-Z]{1,16}$/))
      .min(1)
      .max(16),
  }),
  /** Calls it authorizes (beyond the paid call that bought it); absent = limited by time only. */
  calls: z.number().int().positive().max(1e12).optional(),
  /** Atomic units of the paying asset it may draw (metered use); absent = not metered. */
  amountCap: AtomicAmountSchema.optional(),
  /** Most calls per second; absent = no rate limit. */
  rateLimit: z.number().positive().max(1e9).optional(),
  /** Issued at, seconds. */
  iat: z.number().int().nonnegative(),
  /** Expires at, seconds. */
  exp: z.number().int().positive(),
  /** Id of the receipt of the payment that bought it. */
  receipt: z.string().min(1).max(128),
  /** Rail that payment was made on. */
  rail: z.string().min(1).max(64),
});

/** The claims of a capability credential. */
export type CapabilityClaims = z.infer<typeof CapabilityClaimsSchema>;
