import { join, resolve } from 'node:path';
import { BitsError, loadMetalink, type NewFileSpec } from './bits-vocabulary.ts';

/**
 * A Metalink file (`.meta4`, `.metalink`) as the files to add: each under `directory` by the
 * name the document gives, with its mirrors, digests and piece digests.
 */
export async function metalinkFiles(path: string, directory: string): Promise<NewFileSpec[]> {
  const { MAX_METALINK_BYTES, parseMetalink } = await loadMetalink();
  let text: string;
  try {
    const { readFile } = await import('node:fs/promises'); // only when a Metalink is read
    const bytes = await readFile(path);
    if (bytes.byteLength > MAX_METALINK_BYTES) {
      throw new BitsError('BG_E_INVALID_METALINK', `${path} is over ${MAX_METALINK_BYTES} bytes`);
    }
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof BitsError) throw err;
    throw new BitsError('BG_E_INVALID_METALINK', `cannot read ${path}: ${(err as Error).message}`);
  }
  const dir = resolve(directory);
  return parseMetalink(text).map((f) => ({
    remoteName: f.remoteName,
    localName: join(dir, f.name),
    mirrors: f.mirrors,
    digests: f.digests,
    pieces: f.pieces,
  }));
}
