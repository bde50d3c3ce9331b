import { createMemoryCapabilityStore } from '../../src/capabilities/memoryCapabilityStore';
import { describeCapabilityStoreContract } from './capabilityStoreContract';

describeCapabilityStoreContract('memory', () => {
  const store = createMemoryCapabilityStore();
  return { store, peer: store, close: () => {} };
});
