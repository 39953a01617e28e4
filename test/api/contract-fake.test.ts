import { connect } from '../../src/client/connect.ts';
import { managerContract } from './contract.ts';
import { FakeManager } from './fake-manager.ts';
import { serve, tempDir } from './helpers.ts';

// The suite itself, checked against the in-memory double; then the same suite through the real
// HTTP server and client over a Unix socket, which is what this file tests: the API's shape.
managerContract('in-memory double (checks the suite)', async () => {
  const work = await tempDir();
  return { manager: new FakeManager(), workDir: work.path, close: work.remove };
});

managerContract('API server + connect() over a Unix socket, in-memory manager behind it', async () => {
  const work = await tempDir();
  const served = await serve(new FakeManager());
  const client = connect({ socketPath: served.socketPath, autoStart: false });
  return {
    manager: client,
    workDir: work.path,
    async close() {
      await client.close();
      await served.close();
      await work.remove();
    },
  };
});
