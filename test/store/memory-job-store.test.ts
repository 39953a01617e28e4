import { MemoryJobStore } from '../../src/store/index.ts';
import { jobStoreContract } from './job-store.contract.ts';

jobStoreContract('MemoryJobStore', (options) => {
  const store = new MemoryJobStore(options);
  return { store, cleanup: () => store.close() };
});
