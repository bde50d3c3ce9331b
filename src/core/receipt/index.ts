export * from './receipt';
export * from './signer';
export * from './verifyReceipt';
