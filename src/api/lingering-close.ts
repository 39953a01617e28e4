import type { Socket } from 'node:net';

/** How long a refused client may go on sending before its socket is cut. */
const LINGER_MS = 2_000;

/**
 * Close a connection whose request body was refused unread the way nginx's lingering_close does:
 * send the reply and a FIN, then read and drop whatever the client is still sending until it
 * closes its side (or LINGER_MS pass). Destroying a socket with unread bytes makes the kernel
 * reset the connection, and a client that is still writing then loses the reply it was sent.
 * Node's HTTP server closes a `connection: close` reply with `socket.destroySoon()`; this
 * replaces that one call for this socket.
 */
export function lingerOnClose(socket: Socket | undefined): void {
  if (socket === undefined) return; // an in-process fetch: no socket to close
  const closing = socket as Socket & { destroySoon?: () => void };
  closing.destroySoon = () => {
    socket.end();
    const cut = setTimeout(() => socket.destroy(), LINGER_MS);
    cut.unref();
    socket.on('data', () => undefined);
    socket.once('end', () => socket.destroy());
    socket.once('close', () => clearTimeout(cut));
    socket.resume();
  };
}
