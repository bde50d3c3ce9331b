/**
 * x402-rails/evm: the EVM rail (viem). x402 `exact` with EIP-3009 `transferWithAuthorization` or with Permit2
 * (`assetTransferMethod: "permit2"`, with the `eip2612GasSponsoring` extension), and the `upto` scheme (Permit2),
 * all wire-identical to the official scheme; and EIP-2612 `permit` (an x402-rails extension, single payee).
 */
export { evmEip3009Server, verifyEip3009Signature, type EvmEip3009ServerParameters } from './eip3009Server';
export { evmEip2612Server, type EvmEip2612ServerParameters } from './eip2612Server';
export { evmPermit2Server, type EvmPermit2ServerParameters } from './permit2Server';
export { evmUptoServer, UPTO_SETTLEMENT_EXCEEDS_AMOUNT, type EvmUptoServerParameters } from './uptoServer';
export { evmPermit2Client, evmUptoClient, type EvmPermit2ClientParameters } from './permit2Client';
export {
  PERMIT2_ADDRESS,
  X402_EXACT_PERMIT2_PROXY_ADDRESS,
  X402_UPTO_PERMIT2_PROXY_ADDRESS,
  permit2Abi,
  x402ExactPermit2ProxyAbi,
  x402UptoPermit2ProxyAbi,
  exactPermit2WitnessTypes,
  uptoPermit2WitnessTypes,
} from './permit2Abi';
export { EIP2612_GAS_SPONSORING, declareEip2612GasSponsoring, permit2SettlementBlocks } from './permit2Common';
export { evmEip3009Client, evmEip2612Client, evmClients, VALIDITY_MARGIN_SECONDS } from './client';
export { evmWallet, isEvmWallet, type EvmWallet } from './wallet';
export {
  evmMppChargeServer,
  evmMppChargeClient,
  mppChallengeHash,
  evmSource,
  MppEvmAuthorizationPayloadSchema,
  type EvmMppChargeClientOptions,
} from './mppCharge';
export { exactTokenAbi, transferWithAuthorizationTypes, permitTypes } from './abi';
export {
  Eip3009PayloadSchema,
  Eip2612PayloadSchema,
  Permit2PayloadSchema,
  UptoPermit2PayloadSchema,
  Eip2612GasSponsoringInfoSchema,
  type Eip3009Payload,
  type Eip2612Payload,
  type Permit2Payload,
  type UptoPermit2Payload,
  type Eip2612GasSponsoringInfo,
} from './payloads';
export { transferMethodOf, domainOf, type AssetTransferMethod } from './requirements';
export type { EvmTokenConfig } from './serverCommon';
export type { EvmSettler } from './chain';
export { evmRefunder, type EvmRefunderParameters } from './evmRefunder';
export { evmPermitAuthorizer, type EvmPermitAuthorizerParameters } from './evmPermitAuthorizer';
export { evmUptoAuthorizer, type EvmUptoAuthorizerParameters } from './uptoAuthorizer';
export { assertEvmTokenDomain, type AssertEvmTokenDomainParameters } from './assertEvmTokenDomain';
export { canonicalSignatureRefusal, type SignatureRefusal } from './recoverTypedDataSigner';
export { batchCallAbi, MULTICALL3_ADDRESS } from './batchCallAbi';
export type { Eip3009BatchParameters } from './eip3009Batcher';
