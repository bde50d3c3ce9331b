import { describe, expect, it } from 'vitest';

/**
 * The public surface of every entry point, so it changes only on purpose. Update with
 * `npx vitest run test/unit/exports.test.ts -u` and review the diff.
 */
const exportsOf = (module: Record<string, unknown>) => Object.keys(module).sort();

describe('entry point exports', () => {
  it('x402-rails (src/index.ts)', async () => {
    expect(exportsOf(await import('../../src/index'))).toMatchInlineSnapshot(`
      [
        "AtomicAmountSchema",
        "BudgetExceededError",
        "CHALLENGE_FIELD",
        "ConfigurationError",
        "DEFAULT_MAX_PER_REQUEST",
        "ExtraSchema",
        "MAX_HEADER_BYTES",
        "MAX_JSON_DEPTH",
        "MPP_MAX_HEADER_LENGTH",
        "MPP_MAX_REQUEST_LENGTH",
        "MPP_SCHEME",
        "MPP_SIGNED_RECEIPT_KEY",
        "MalformedInputError",
        "MeteringReceiptSchema",
        "MppChallengeSchema",
        "MppReceiptSchema",
        "NetworkSchema",
        "NoAcceptableOfferError",
        "OriginSuspendedError",
        "PaymentConflictError",
        "PaymentDeferredError",
        "PaymentInvalidError",
        "PaymentPayloadSchema",
        "PaymentRefusedByServerError",
        "PaymentRequiredSchema",
        "PaymentRequiredV1Schema",
        "PaymentRequirementsSchema",
        "PaymentRequirementsV1Schema",
        "RECEIPT_EXTENSION_KEY",
        "RECEIPT_JWKS_PATH",
        "RailUnavailableError",
        "ReceiptInvalidError",
        "ReceiptSchema",
        "ResourceInfoSchema",
        "SETTLED_LISTING_LIMIT",
        "SettleResponseSchema",
        "SettleResponseV1Schema",
        "SettlementPendingError",
        "SignedReceiptSchema",
        "VerifyResponseSchema",
        "X402RailsError",
        "acceptPaymentWeight",
        "allowsReuse",
        "bitcoinNetworks",
        "caipAssetId",
        "canConfirmSettlement",
        "canFindSettlement",
        "canListSettled",
        "canonicalJson",
        "createBudgetLedger",
        "createMemoryPaymentStore",
        "createOriginStrikes",
        "createReceiptSigner",
        "decodeBase64Json",
        "decodeBase64UrlJson",
        "decodeBase64UrlObject",
        "decodeMppRequest",
        "decodePaymentRequiredHeader",
        "decodePaymentResponseHeader",
        "decodePaymentSignatureHeader",
        "decodeV1PaymentResponseHeader",
        "defineClientRail",
        "defineServerRail",
        "discover",
        "encodeBase64Json",
        "encodeBase64UrlJson",
        "encodeCanonicalBase64Url",
        "encodeMppRequest",
        "encodePaymentRequiredHeader",
        "encodePaymentResponseHeader",
        "encodePaymentSignatureHeader",
        "encodeV1PaymentHeader",
        "errorCodes",
        "evmChainId",
        "evmNetwork",
        "exposedHeaders",
        "foldPayloadExtensions",
        "formatAuthParam",
        "generateReceiptKey",
        "hasAuthorizationScheme",
        "hasAuthorizedAddresses",
        "hasChallengeHeaders",
        "hashCanonical",
        "headerNames",
        "isAtomicAmount",
        "isCaipNetwork",
        "isClientRail",
        "isMppAuthorization",
        "isServerRail",
        "isX402RailsError",
        "mppHeaderNames",
        "mppMalformed",
        "negotiate",
        "normalizeNetwork",
        "parseAcceptPayment",
        "parseAtomicAmount",
        "parseBoundedJson",
        "parseCaipNetwork",
        "parseMppChallengeObject",
        "parseMppChallenges",
        "parseMppCredential",
        "parseMppReceipt",
        "parsePaymentRequiredV1",
        "parseWire",
        "payingFetch",
        "paymentReasons",
        "paywall",
        "paywallOperations",
        "policyRejection",
        "rankByAcceptPayment",
        "readAuthChallenges",
        "readChallenge",
        "readsPayloadExtensions",
        "receiptOf",
        "reportCharge",
        "reportedCharge",
        "selectSettled",
        "serializeAcceptPayment",
        "serializeMppChallenge",
        "serializeMppCredential",
        "serializeMppReceipt",
        "settleResponseOf",
        "sha256Base64Url",
        "solanaNetworks",
        "speaksMppClient",
        "speaksMppServer",
        "splitPayloadExtensions",
        "stripUndefined",
        "v1NetworkNames",
        "v1ToV2Requirements",
        "verifyReceipt",
      ]
    `);
  });

  it('x402-rails/hono (src/server/hono.ts)', async () => {
    expect(exportsOf(await import('../../src/server/hono'))).toMatchInlineSnapshot(`
      [
        "honoPaywall",
        "paywall",
      ]
    `);
  });

  it('x402-rails/express (src/server/express.ts)', async () => {
    expect(exportsOf(await import('../../src/server/express'))).toMatchInlineSnapshot(`
      [
        "expressPaywall",
      ]
    `);
  });

  it('x402-rails/node (src/server/node.ts)', async () => {
    expect(exportsOf(await import('../../src/server/node'))).toMatchInlineSnapshot(`
      [
        "nodeListener",
        "serveFetch",
      ]
    `);
  });

  it('x402-rails/solana/client (adapters/solana/clientIndex.ts)', async () => {
    const client = await import('../../adapters/solana/clientIndex');
    const solana = exportsOf(await import('../../adapters/solana/index'));
    // The paying side only, each export the one of x402-rails/solana.
    expect(exportsOf(client).filter((name) => !solana.includes(name))).toEqual([]);
    expect(exportsOf(client)).toMatchInlineSnapshot(`
      [
        "SOLANA_RAIL_ID",
        "SOLANA_WALLET_KIND",
        "SolanaExactPayloadSchema",
        "buildExactTransaction",
        "decodePaymentTransaction",
        "encodePaymentTransaction",
        "isSolanaNetwork",
        "isSolanaWallet",
        "memoOf",
        "solanaExactClient",
        "solanaNetworkOf",
        "solanaWallet",
      ]
    `);
  });

  // Larger entry points: file snapshots (test/unit/__snapshots__/exports.test.ts.snap).
  const fileSnapshots: Array<[string, () => Promise<Record<string, unknown>>]> = [
    ['x402-rails/evm (adapters/evm/index.ts)', () => import('../../adapters/evm/index')],
    ['x402-rails/solana (adapters/solana/index.ts)', () => import('../../adapters/solana/index')],
    ['x402-rails/lightning (adapters/lightning/index.ts)', () => import('../../adapters/lightning/index')],
    ['x402-rails/facilitator (src/facilitator/index.ts)', () => import('../../src/facilitator/index')],
    ['x402-rails/devnet (fixtures/index.ts)', () => import('../../fixtures/index')],
    ['x402-rails/capabilities (src/capabilities/index.ts)', () => import('../../src/capabilities/index')],
    ['x402-rails/testing (src/testing/index.ts)', () => import('../../src/testing/index')],
    ['x402-rails/risk (src/risk/index.ts)', () => import('../../src/risk/index')],
    ['x402-rails/metering (src/metering/index.ts)', () => import('../../src/metering/index')],
    ['x402-rails/paywall (src/paywall-ui/index.ts)', () => import('../../src/paywall-ui/index')],
    ['x402-rails/dashboard (src/dashboard/index.ts)', () => import('../../src/dashboard/index')],
  ];
  for (const [name, load] of fileSnapshots) {
    it(name, async () => {
      expect(exportsOf(await load())).toMatchSnapshot();
    });
  }

  it('x402-rails/mcp (src/mcp/index.ts)', async () => {
    expect(exportsOf(await import('../../src/mcp/index'))).toMatchInlineSnapshot(`
      [
        "TOOL_NAME",
        "mcpMetaKeys",
        "mcpPaywall",
        "mppCredentialHeaderOf",
        "mppCredentialHeadersOf",
        "mppMcpMetaKeys",
        "mppMetaOf",
        "mppPaymentRequiredOf",
        "mppReceiptOf",
        "payingMcpClient",
        "paymentRequiredOf",
        "paymentRequiredResult",
        "paymentResponseOf",
        "toolCallBody",
        "toolCredentialsOf",
        "toolNameOf",
        "toolPaymentOf",
        "toolResourceUrl",
      ]
    `);
  });

  it('x402-rails/extensions (src/extensions/index.ts)', async () => {
    expect(exportsOf(await import('../../src/extensions/index'))).toMatchInlineSnapshot(`
      [
        "DISCOVERY_PATHS",
        "DiscoveryItemSchema",
        "DiscoveryManifestSchema",
        "IDEMPOTENT_REPLAY_HEADER",
        "OFFER_RECEIPT",
        "PAYMENT_ID",
        "PAYMENT_IDENTIFIER",
        "bazaar",
        "bazaarExtension",
        "createMemoryIdempotencyStore",
        "createPostgresIdempotencyStore",
        "createRedisIdempotencyStore",
        "createSqliteIdempotencyStore",
        "declarePaymentIdentifier",
        "didJwk",
        "discover",
        "offerReceipt",
        "offerReceiptTypes",
        "paymentIdentifier",
        "paymentIdentifierFor",
        "paymentIdentifierOf",
        "paymentIdentifierSchema",
        "signEip712",
      ]
    `);
  });

  it('every export of the core entry point is defined', async () => {
    const core: Record<string, unknown> = await import('../../src/index');
    for (const [name, value] of Object.entries(core)) expect(value, name).not.toBeUndefined();
  });
});
