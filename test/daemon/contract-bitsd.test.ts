import { connect } from '../../src/client/connect.ts';
import { tempDir } from '../api/helpers.ts';
import { managerContract } from '../api/manager-contract.ts';
import { spawnDaemon, stopDaemon } from './helpers.ts';

// The manager contract end to end: connect() → Unix socket → a real bitsd process → the real
// manager and its SQLite store.
managerContract('connect() → real bitsd process', async () => {
  const home = await tempDir('openbits-bitsd-');
  const work = await tempDir();
  const daemon = await spawnDaemon(home.path);
  const client = connect({ socketPath: daemon.socketPath, autoStart: false });
  return {
    manager: client,
    workDir: work.path,
    async close() {
      await client.close();
      await stopDaemon(daemon);
      await home.remove();
      await work.remove();
    },
  };
});
