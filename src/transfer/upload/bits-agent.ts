import { createHash } from 'node:crypto';
import { Agent, type AgentOptions } from 'node:http';
import type { Socket } from 'node:net';
import { type Credentials, systemClock } from '../../core/index.ts';
import { AuthResponder } from '../auth.ts';
import { makeConnector } from '../connector.ts';
import { IGNORE_FLAGS } from '../tls-verify.ts';

/**
 * Keep-alive connection pools for BITS packets. BITS_POST packets go out through node:http, not
 * undici: undici drops `Content-Length: 0` on a body-less request whose method is not POST/PUT/
 * PATCH (client-h1 `expectsPayload`), and every Ping, Create-Session, Close-Session and
 * Cancel-Session must carry it (bits-upload-protocol.md §2; IIS answers 400 without it). The
 * sockets still come from the download engine's connector, so TLS verification per security flag
 * and CONNECT tunnels (with proxy Basic/Digest) behave exactly as for downloads.
 */

export type UploadRouteKind = 'direct' | 'forward' | 'tunnel';

export interface UploadAgentSpec {
  readonly kind: UploadRouteKind;
  /** Scheme of the host the socket speaks to first (the target, or the forward proxy). */
  readonly protocol: 'http:' | 'https:';
  readonly proxy: URL | null;
  readonly securityFlags: number;
  readonly connectTimeoutMs: number;
  readonly proxyCredentials: readonly Credentials[];
}

type ConnectCallback = (err: Error | null, socket: Socket) => void;

/** An http.Agent whose sockets come from the transfer connector (plain, TLS or tunnelled TLS). */
class ConnectorAgent extends Agent {
  readonly #connect: ReturnType<typeof makeConnector>;
  readonly #protocol: 'http:' | 'https:';

  constructor(spec: UploadAgentSpec, options: AgentOptions) {
    super(options);
    this.#protocol = spec.protocol;
    this.#connect = makeConnector({
      securityFlags: spec.securityFlags,
      connectTimeoutMs: spec.connectTimeoutMs,
      proxy: spec.kind === 'tunnel' ? spec.proxy : null,
      proxyAuth: spec.kind === 'tunnel' ? new AuthResponder('PROXY', spec.proxyCredentials) : null,
      // Pools are shared by every job, like the download engine's Agents: real time.
      clock: systemClock,
    });
  }

  // Node calls this for a new pooled socket; answering through the callback makes it asynchronous.
  override createConnection(options: { host?: string; port?: number | string; servername?: string }, cb: unknown) {
    const host = String(options.host ?? 'localhost');
    const port = String(options.port ?? (this.#protocol === 'https:' ? 443 : 80));
    const hostname = host.replace(/^\[|\]$/g, '');
    this.#connect(
      { hostname, host: hostname, port, protocol: this.#protocol, servername: options.servername ?? hostname },
      (err, socket) => (cb as ConnectCallback)(err, socket as Socket),
    );
    return undefined as unknown as Socket;
  }
}

const agents = new Map<string, ConnectorAgent>();

/** The shared agent for one route and TLS setting. */
export function uploadAgentFor(spec: UploadAgentSpec): Agent {
  const creds = spec.kind === 'tunnel' ? spec.proxyCredentials : [];
  const key = JSON.stringify([
    spec.kind,
    spec.protocol,
    spec.proxy?.href ?? null,
    spec.securityFlags & IGNORE_FLAGS,
    spec.connectTimeoutMs,
    creds.length === 0 ? null : createHash('sha256').update(JSON.stringify(creds)).digest('hex'),
  ]);
  let agent = agents.get(key);
  if (agent === undefined) {
    agent = new ConnectorAgent(spec, { keepAlive: true, keepAliveMsecs: 30_000, maxFreeSockets: 4 });
    agents.set(key, agent);
  }
  return agent;
}

/** Close every pooled upload connection (tests, daemon shutdown). */
export function closeUploadAgents(): void {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
}
