/**
 * x402-rails/evm: the EVM rail (viem). x402 `exact` with EIP-3009 `transferWithAuthorization`
 * (wire-identical to the official scheme) and EIP-2612 `permit` (an x402-rails extension).
 */
export { evmEip3009Server, verifyEip3009Signature, type EvmEip3009ServerParameters } from './eip3009Server';
export { evmEip2612Server, type EvmEip2612ServerParameters } from './eip2612Server';
export { evmEip3009Client, evmEip2612Client, evmClients, VALIDITY_MARGIN_SECONDS } from './client';
export { evmWallet, isEvmWallet, type EvmWallet } from './wallet';
export { evmMppChargeServer, evmMppChargeClient, mppChallengeHash, evmSource, MppEvmAuthorizationPayloadSchema, type EvmMppChargeClientOptions } from './mppCharge';
export { exactTokenAbi, transferWithAuthorizationTypes, permitTypes } from './abi';
export { Eip3009PayloadSchema, Eip2612PayloadSchema, type Eip3009Payload, type Eip2612Payload } from './payloads';
export { transferMethodOf, domainOf, type AssetTransferMethod } from './requirements';
export type { EvmTokenConfig } from './serverCommon';
export type { EvmSettler } from './chain';
export { evmRefunder, type EvmRefunderParameters } from './evmRefunder';
export { evmPermitAuthorizer, type EvmPermitAuthorizerParameters } from './evmPermitAuthorizer';
export { assertEvmTokenDomain, type AssertEvmTokenDomainParameters } from './assertEvmTokenDomain';
export { canonicalSignatureRefusal, type SignatureRefusal } from './recoverTypedDataSigner';
