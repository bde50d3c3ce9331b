export * from './encoding';
export { readAuthChallenges, formatAuthParam, type AuthChallenge } from './authParams';
export * from './mppChallenge';
export * from './mppCredential';
export * from './mppReceipt';
export * from './acceptPayment';
