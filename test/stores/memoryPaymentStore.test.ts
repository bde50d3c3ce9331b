import { createMemoryPaymentStore } from '../../src/stores/memoryPaymentStore';
import { describePaymentStoreContract } from './paymentStoreContract';

// Memory holds typed objects, so there is nothing to corrupt and no second connection.
describePaymentStoreContract('memory', () => ({ store: createMemoryPaymentStore(), close: () => {} }));
