import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** sha256 of bytes, hex: every test compares files by this. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Streamed sha256 of a file's content, hex (256 MiB files are not read into memory). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
