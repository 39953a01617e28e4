/**
 * Reading a large request body straight into big shared buffers ("slabs") with Node's `onread`:
 * the kernel copies each read into the free end of a 4 MiB slab, the chunk handed on is a view
 * of it, and the slab goes back to a small pool once every chunk cut from it was released (the
 * data file's `writev` finished). Node's own socket reads allocate a fresh 64 KiB buffer each —
 * 16,384 per GiB, held until written, so they outlive young-generation collections — and that
 * allocation, its garbage collection and the per-read callbacks were most of the upload server's
 * CPU (2.4 s per GiB, S7). Here a read takes what the socket holds (hundreds of KiB on
 * loopback), and nothing is allocated while the pool has slabs.
 *
 * Only a plain TCP socket accepted paused (`pauseOnConnect`) can be adopted; TLS sockets and
 * sockets handed to us by an application's server keep Node's reads. Heads and small bodies are
 * read into fresh 64 KiB buffers as Node would, so an idle connection holds no slab.
 */
import net from 'node:net';

const SLAB_BYTES = 4 * 1024 * 1024;
/** A slab with less free room than this is retired: reads stay large. */
const MIN_REGION = 64 * 1024;
/** Reads outside a large body (heads, small bodies), as Node's own. */
const SMALL_READ = 64 * 1024;
/**
 * The one buffer every adopted socket reads a small read into: libuv reads into it and Node
 * calls `onRead` at once, on this thread, so no other read comes between (onRead copies it
 * out). `Buffer.alloc`: its own ArrayBuffer, never a slice of Node's pool.
 */
const smallReads = Buffer.alloc(SMALL_READ);
/** Body bytes still expected from which reads go to slabs. */
const LARGE_BODY = 256 * 1024;
/** Idle slabs kept for the next body (16 MiB at most, across connections). */
const MAX_IDLE_SLABS = 4;

class Slab {
  readonly bytes = Buffer.allocUnsafeSlow(SLAB_BYTES);
  /** Bytes read into it so far. */
  filled = 0;
  /** Chunks not yet released, plus one while a socket may still read into it. */
  refs = 1;
}

const slabOf = new WeakMap<ArrayBufferLike, Slab>();
const idle: Slab[] = [];

function takeSlab(): Slab {
  const reused = idle.pop();
  if (reused !== undefined) {
    reused.filled = 0;
    reused.refs = 1;
    return reused;
  }
  const slab = new Slab();
  slabOf.set(slab.bytes.buffer, slab);
  return slab;
}

function unref(slab: Slab): void {
  slab.refs -= 1;
  if (slab.refs === 0 && idle.length < MAX_IDLE_SLABS) idle.push(slab);
}

/**
 * `chunk` (from a slab or not) is no longer read by anyone: its slab may be reused once all of
 * its chunks were released. Release each chunk (and each `retainChunk`) exactly once; a chunk
 * never released only keeps its slab out of the pool (the collector frees it).
 */
export function releaseChunk(chunk: Buffer): void {
  const slab = slabOf.get(chunk.buffer);
  if (slab !== undefined) unref(slab);
}

/** One more view of `chunk` will be released on its own (a chunk split in two). */
export function retainChunk(chunk: Buffer): void {
  const slab = slabOf.get(chunk.buffer);
  if (slab !== undefined) slab.refs += 1;
}

/** Where the chunks of an adopted socket go. */
export interface SlabSink {
  /** Body bytes not yet received (reads go to slabs while a large body is arriving). */
  expecting(): number;
  /** A chunk arrived; false stops reading until `socket.resume()`. */
  receive(chunk: Buffer): boolean;
}

/** The `onread` buffers and callback of one socket. */
export class SlabReader {
  #sink: SlabSink | undefined;
  /** The slab the socket reads into now (holds one ref for that). */
  #slab: Slab | undefined;

  attach(sink: SlabSink): void {
    this.#sink = sink;
  }

  /** Called by Node after every read (and once at the start): the buffer the next read fills. */
  readonly nextBuffer = (): Buffer => {
    if ((this.#sink?.expecting() ?? 0) < LARGE_BODY) {
      this.#retire();
      return smallReads;
    }
    if (this.#slab === undefined || SLAB_BYTES - this.#slab.filled < MIN_REGION) {
      this.#retire();
      this.#slab = takeSlab();
    }
    return this.#slab.bytes.subarray(this.#slab.filled);
  };

  /** Called by Node with the bytes read into the last buffer `nextBuffer` gave. */
  readonly onRead = (n: number, buffer: Uint8Array): boolean => {
    const slab = this.#slab;
    // A small read is copied out of the shared buffer at once, right-sized: a 64 KiB buffer per
    // read (or per idle connection, armed for its next read) pinned 16 MiB for a slow
    // uploader's few hundred KB, and 125 MiB for 2,000 idle keep-alive connections.
    if (buffer.buffer === smallReads.buffer) return this.#sink?.receive(Buffer.copyBytesFrom(buffer, 0, n)) ?? true;
    const chunk = Buffer.from(buffer.buffer, buffer.byteOffset, n);
    if (slab !== undefined && buffer.buffer === slab.bytes.buffer) {
      slab.filled += n;
      slab.refs += 1;
    }
    return this.#sink?.receive(chunk) ?? true;
  };

  /** The socket closed: it reads into nothing any more. */
  close(): void {
    this.#retire();
  }

  #retire(): void {
    const slab = this.#slab;
    this.#slab = undefined;
    if (slab !== undefined) unref(slab);
  }
}

interface AdoptableHandle {
  reading?: boolean;
  useUserBuffer?: unknown;
}

/**
 * A socket on the same connection that reads through `reader`, or undefined when `socket` cannot
 * be adopted (TLS, a socket that already reads or holds unread bytes, a Node without `onread`
 * on its TCP handle). The original socket is released without closing the connection.
 */
export function adoptForSlabReads(socket: net.Socket, reader: SlabReader): net.Socket | undefined {
  const holder = socket as unknown as { _handle?: AdoptableHandle | null; encrypted?: boolean };
  const handle = holder._handle;
  if (
    handle == null ||
    holder.encrypted === true ||
    typeof handle.useUserBuffer !== 'function' ||
    handle.reading === true ||
    socket.readableLength > 0
  ) {
    return undefined;
  }
  const adopted = new net.Socket({
    handle: handle as unknown as net.SocketConstructorOpts['handle'],
    onread: { buffer: reader.nextBuffer, callback: reader.onRead },
  });
  // The old wrapper lets go of the handle; destroying it then only settles its server's count.
  holder._handle = null;
  socket.destroy();
  adopted.once('close', () => reader.close());
  return adopted;
}
