import { createManager } from '../../src/service/manager.ts';
import { tempDir } from './helpers.ts';
import { managerContract } from './manager-contract.ts';

managerContract('createManager() in-process', async () => {
  const home = await tempDir('openbits-home-');
  const work = await tempDir();
  const manager = await createManager({ home: home.path });
  return {
    manager,
    workDir: work.path,
    async close() {
      await manager.close();
      await home.remove();
      await work.remove();
    },
  };
});
