import { BitsError } from '../core/bits-error.ts';
import type { Operation } from './operation.ts';

/** A request body's text as the operation's checked JSON (E_INVALIDARG for empty or bad JSON). */
export async function checkedBody(op: Operation, text: string): Promise<unknown> {
  if (text.trim() === '') throw new BitsError('E_INVALIDARG', 'request body: a JSON object is required');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BitsError('E_INVALIDARG', 'request body is not valid JSON');
  }
  await op.checkBody?.(body);
  return body;
}
