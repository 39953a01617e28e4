import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { WebhookDelivery } from '../../core/index.ts';

/** The outbox's statements (docs/webhooks.md, table webhook_outbox). */
export interface OutboxStatements {
  readonly insert: StatementSync;
  /** Due rows, oldest first: `?1` now, `?2` limit (the caller drops skipped ids). */
  readonly due: StatementSync;
  readonly next: StatementSync;
  readonly failed: StatementSync;
  readonly remove: StatementSync;
}

export function prepareOutboxStatements(db: DatabaseSync): OutboxStatements {
  return {
    insert: db.prepare(
      `INSERT INTO webhook_outbox (id, job_id, event, url, secret, body, created_at, attempts, next_attempt_at, last_error)
       VALUES (:id, :job_id, :event, :url, :secret, :body, :created_at, :attempts, :next_attempt_at, :last_error)`,
    ),
    due: db.prepare(
      'SELECT * FROM webhook_outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?',
    ),
    next: db.prepare('SELECT id, next_attempt_at FROM webhook_outbox ORDER BY next_attempt_at LIMIT ?'),
    failed: db.prepare('UPDATE webhook_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?'),
    remove: db.prepare('DELETE FROM webhook_outbox WHERE id = ?'),
  };
}

export function deliveryParams(d: WebhookDelivery): Record<string, string | number | null> {
  return {
    id: d.id,
    job_id: d.jobId,
    event: d.event,
    url: d.url,
    secret: d.secret,
    body: d.body,
    created_at: d.createdAt,
    attempts: d.attempts,
    next_attempt_at: d.nextAttemptAt,
    last_error: d.lastError,
  };
}

export function rowToDelivery(row: Record<string, unknown>): WebhookDelivery {
  return {
    id: row.id as string,
    jobId: row.job_id as string,
    event: row.event as WebhookDelivery['event'],
    url: row.url as string,
    secret: row.secret as string,
    body: row.body as string,
    createdAt: row.created_at as number,
    attempts: row.attempts as number,
    nextAttemptAt: row.next_attempt_at as number,
    lastError: row.last_error as string | null,
  };
}
