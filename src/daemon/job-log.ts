import type { BitsManager, ManagerEvent } from '../api/bits-manager.ts';
import type { ApiLogger } from '../api/server.ts';

/**
 * One log line per job state change and per job error, from the manager's events (progress
 * and modifications are not logged: they would drown the rest). It observes every event where
 * the manager allows it, so a job's NotifyFlags do not hide its errors from the log.
 */
export function logJobEvents(
  manager: Pick<BitsManager, 'subscribe'> & { observe?(listener: (event: ManagerEvent) => void): () => void },
  logger: ApiLogger,
): () => void {
  const listen = manager.observe?.bind(manager) ?? ((fn: (event: ManagerEvent) => void) => manager.subscribe(fn));
  return listen((event: ManagerEvent) => {
    switch (event.type) {
      case 'job:created':
        logger.info({ job: event.jobId }, 'job created');
        break;
      case 'job:state':
        logger.info({ job: event.jobId, from: event.previous, to: event.state }, 'job state');
        break;
      case 'job:error':
        logger.error(
          { job: event.jobId, error: event.error.name, hresult: event.error.hresult, context: event.error.context },
          `job error: ${event.error.message}`,
        );
        break;
      case 'file:source-dropped':
        logger.warn(
          { job: event.jobId, file: event.fileIndex, url: event.url },
          `source dropped from the transfer: ${event.reason}`,
        );
        break;
      default:
        break;
    }
  });
}
