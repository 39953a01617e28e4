import { SaxesParser, type SaxesTagNS } from 'saxes';
import {
  BitsError,
  DIGEST_ALGORITHMS,
  type DigestAlgorithm,
  type FileDigest,
  type PieceDigests,
} from '../core/index.ts';

/**
 * Metalink import (docs/transfer.md, Metalink): RFC 5854 Metalink 4 (`.meta4`) and the older
 * Metalink 3 (`.metalink`), read with a streaming XML parser that never loads a DTD or expands
 * an entity it does not know. Each file becomes a remote name (its most preferred http(s) URL),
 * mirrors (the others, at most 16), whole-file digests and piece digests. Anything unusable —
 * not XML, no file, a name that is a path, no http(s) URL — is BG_E_INVALID_METALINK.
 */

/** One file of a Metalink document, ready for AddFileSet. */
export interface MetalinkFile {
  /** The file name the document gives (a plain name: no folder, never `..`). */
  readonly name: string;
  /** Size in bytes, or null when the document does not say. */
  readonly size: number | null;
  /** The most preferred http(s) URL. */
  readonly remoteName: string;
  /** The other http(s) URLs, most preferred first (at most 16). */
  readonly mirrors: readonly string[];
  readonly digests: readonly FileDigest[];
  readonly pieces: PieceDigests | null;
}

const NS4 = 'urn:ietf:params:xml:ns:metalink';
const NS3 = 'http://www.metalinker.org/';
/** Bigger documents are refused (a Metalink of thousands of files is still far smaller). */
export const MAX_METALINK_BYTES = 16 * 1024 * 1024;
const MAX_MIRRORS = 16;

const invalid = (message: string): BitsError => new BitsError('BG_E_INVALID_METALINK', message);

/** `sha-256`, `SHA256`, `sha1`… to the algorithm name openbits uses, or null when unsupported. */
function algorithmOf(type: string | undefined): DigestAlgorithm | null {
  const t = (type ?? '').toLowerCase().replace(/^sha(\d)/u, 'sha-$1');
  return (DIGEST_ALGORITHMS as readonly string[]).includes(t) ? (t as DigestAlgorithm) : null;
}

interface Draft {
  name: string;
  size: number | null;
  urls: Array<{ url: string; priority: number; order: number }>;
  digests: FileDigest[];
  pieces: { algorithm: DigestAlgorithm | null; length: number; hashes: string[] } | null;
}

/** Parse a Metalink 3 or 4 document. */
export function parseMetalink(text: string): MetalinkFile[] {
  if (Buffer.byteLength(text) > MAX_METALINK_BYTES) throw invalid(`the document is over ${MAX_METALINK_BYTES} bytes`);
  const parser = new SaxesParser({ xmlns: true });
  const files: Draft[] = [];
  const path: string[] = [];
  let version: 3 | 4 | null = null;
  let file: Draft | null = null;
  let text$ = '';
  let attrs: Record<string, string> = {};
  let failure: Error | null = null;
  /** The attributes of each open element of the Metalink namespace. */
  const stack: Array<Record<string, string>> = [];
  parser.on('error', (err) => {
    failure ??= err;
  });
  parser.on('opentag', (tag: SaxesTagNS) => {
    if (path.length === 0) {
      if (tag.local === 'metalink' && tag.uri === NS4) version = 4;
      else if (tag.local === 'metalink' && tag.uri === NS3) version = 3;
      else throw invalid(`not a Metalink document (root <${tag.name}> in ${tag.uri || 'no namespace'})`);
    }
    if (tag.uri !== (version === 4 ? NS4 : NS3)) {
      path.push('');
      return;
    }
    path.push(tag.local);
    attrs = Object.fromEntries(Object.values(tag.attributes).map((a) => [a.local, a.value]));
    text$ = '';
    if (tag.local === 'file' && parent(path) === (version === 4 ? 'metalink' : 'files')) {
      const name = attrs.name ?? '';
      file = { name, size: null, urls: [], digests: [], pieces: null };
    }
    if (tag.local === 'pieces' && file !== null) {
      const length = Number(attrs.length);
      file.pieces = { algorithm: algorithmOf(attrs.type), length, hashes: [] };
    }
    stack.push(attrs);
  });
  parser.on('text', (t) => {
    text$ += t;
  });
  parser.on('closetag', () => {
    const local = path.pop() ?? '';
    const own = local === '' ? {} : (stack.pop() ?? {});
    const value = text$.trim();
    text$ = '';
    if (file === null || local === '') return;
    switch (local) {
      case 'size':
        if (!/^\d{1,16}$/u.test(value)) throw invalid(`file ${file.name}: size ${value} is not a byte count`);
        file.size = Number(value);
        break;
      case 'hash': {
        // The <hash> itself is popped already: its parent is the last open element.
        const inPieces = path.at(-1) === 'pieces';
        if (inPieces && file.pieces !== null) file.pieces.hashes.push(value.toLowerCase());
        else if (!inPieces) {
          const algorithm = algorithmOf(own.type);
          if (algorithm !== null && !file.digests.some((d) => d.algorithm === algorithm)) {
            file.digests.push({ algorithm, value: value.toLowerCase() });
          }
        }
        break;
      }
      case 'url': {
        const order = file.urls.length;
        // Metalink 4: priority 1 is the most preferred; Metalink 3: preference 100 is.
        const priority = version === 4 ? Number(own.priority ?? 999_999) : 100 - Number(own.preference ?? 0);
        if (/^https?:\/\//iu.test(value)) file.urls.push({ url: value, priority, order });
        break;
      }
      case 'file':
        files.push(file);
        file = null;
        break;
      default:
        break;
    }
  });
  try {
    parser.write(text).close();
  } catch (err) {
    if (err instanceof BitsError) throw err;
    throw invalid(`not well-formed XML: ${(err as Error).message}`);
  }
  if (failure !== null) throw invalid(`not well-formed XML: ${(failure as Error).message}`);
  if (version === null) throw invalid('not a Metalink document');
  if (files.length === 0) throw invalid('the document lists no file');
  return files.map(finish);
}

function parent(path: readonly string[]): string | undefined {
  return path.at(-2);
}

function finish(d: Draft): MetalinkFile {
  if (d.name === '' || d.name === '.' || d.name === '..' || /[/\\\0]/u.test(d.name) || d.name.length > 255) {
    throw invalid(`file name ${JSON.stringify(d.name)} must be a plain file name (no folder)`);
  }
  const urls = [...d.urls].sort((a, b) => a.priority - b.priority || a.order - b.order).map((u) => u.url);
  const unique = [...new Set(urls)];
  const [remoteName, ...mirrors] = unique;
  if (remoteName === undefined) throw invalid(`file ${d.name} has no http or https URL`);
  let pieces: PieceDigests | null = null;
  if (d.pieces !== null && d.pieces.algorithm !== null && d.pieces.hashes.length > 0) {
    if (!Number.isSafeInteger(d.pieces.length) || d.pieces.length <= 0) {
      throw invalid(`file ${d.name}: pieces need a length in bytes`);
    }
    pieces = { algorithm: d.pieces.algorithm, length: d.pieces.length, hashes: d.pieces.hashes };
  }
  return {
    name: d.name,
    size: d.size,
    remoteName,
    mirrors: mirrors.slice(0, MAX_MIRRORS),
    digests: d.digests,
    pieces,
  };
}
