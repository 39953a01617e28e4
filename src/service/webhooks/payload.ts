import type { JobInfo } from '../../api/bits-manager.ts';
import type { BitsErrorData, WebhookEvent } from '../../core/index.ts';

/** The JSON document a webhook receives (docs/webhooks.md). */
export interface WebhookPayload {
  /** The delivery id (also the `OpenBITS-Delivery` header): the same on every retry. */
  readonly id: string;
  readonly type: WebhookEvent;
  /** When the event happened (ISO 8601, UTC). */
  readonly occurredAt: string;
  readonly job: {
    readonly id: string;
    readonly displayName: string;
    readonly type: JobInfo['type'];
    readonly state: JobInfo['state'];
    readonly owner: string;
    readonly progress: JobInfo['progress'];
    readonly error: BitsErrorData | null;
    readonly files: ReadonlyArray<{
      readonly remoteName: string;
      readonly localName: string;
      readonly bytesTotal: number;
      readonly bytesTransferred: number;
    }>;
  };
}

/** The document for `event` of `job`, as it is right after the transition. */
export function webhookPayload(id: string, event: WebhookEvent, job: JobInfo, occurredAtMs: number): string {
  const payload: WebhookPayload = {
    id,
    type: event,
    occurredAt: new Date(occurredAtMs).toISOString(),
    job: {
      id: job.id,
      displayName: job.displayName,
      type: job.type,
      state: job.state,
      owner: job.owner,
      progress: job.progress,
      error:
        job.error === null
          ? null
          : {
              name: job.error.name,
              hresult: job.error.hresult,
              context: job.error.context,
              message: job.error.message,
            },
      files: job.files.map((f) => ({
        remoteName: f.remoteName,
        localName: f.localName,
        bytesTotal: f.progress.bytesTotal,
        bytesTransferred: f.progress.bytesTransferred,
      })),
    },
  };
  return JSON.stringify(payload);
}
