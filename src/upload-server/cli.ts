/**
 * `bits-upload-server`: run the BITS upload server from the command line. Prints one
 * `listening on <url>` line when ready; SIGINT/SIGTERM stop it (sessions stay on disk).
 * `bits-upload-server hash-password` / `hash-token` read a secret on stdin and print the line
 * part for `--htpasswd` / `--bearer-tokens`.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { text } from 'node:stream/consumers';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { systemClock } from '../core/clock.ts';
import { readPasswordFile, readTokenFile, tokenDigest } from './auth/credential-files.ts';
import { credentialsAuth } from './auth/credentials-hook.ts';
import { hashPassword } from './auth/password-hash.ts';
import type { AuthHook, NotificationType } from './options.ts';
import { startBitsUploadServer } from './server.ts';

const UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `1048576`, `64k`, `13M`, `2GiB` → bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  const n = m?.[1] === undefined || unit === undefined ? Number.NaN : Number(m[1]) * unit;
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new InvalidArgumentError('expected a size like 1048576, 64k, 13M or 2G');
  return n;
}

function parsePositiveInt(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
}

function parsePort(text: string): number {
  const n = parsePositiveInt(text);
  if (n > 65535) throw new InvalidArgumentError('expected a port 0-65535');
  return n;
}

interface CliOptions {
  root: string;
  port: number;
  host: string;
  cert?: string;
  key?: string;
  urlPrefix: string;
  sessionsDir?: string;
  maxUploadSize?: number;
  maxFragmentSize?: number;
  sessionTimeout?: number;
  cleanupInterval?: number;
  allowOverwrite?: boolean;
  notifyUrl?: string;
  notifyType?: NotificationType;
  notifyTimeout?: number;
  hostId?: string;
  hostIdFallbackTimeout?: number;
  maxSessionsPerUser?: number;
  maxSessionsPerAddress?: number;
  maxSessionBytesPerUser?: number;
  maxSessionBytesPerAddress?: number;
  emptySessionTimeout?: number;
  serveFiles?: boolean;
  publicOrigin?: string;
  htpasswd?: string;
  bearerTokens?: string;
  anonymous?: boolean;
  databaseUrl?: string;
  databasePoolSize?: number;
  metricsPort?: number;
  metricsHost: string;
}

function program(): Command {
  return new Command('bits-upload-server')
    .description('Serve the BITS upload protocol (what the IIS BITS Server Extension does).')
    .requiredOption('--root <dir>', 'folder uploads are committed under')
    .option('--port <n>', 'TCP port (0 = any free port)', parsePort, 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--cert <file>', 'PEM certificate (with --key: serve HTTPS)')
    .option('--key <file>', 'PEM private key')
    .option('--url-prefix <path>', 'URL path the uploads live under', '/')
    .option('--sessions-dir <dir>', 'session state folder (default <root>/BITS-Sessions)')
    .option('--max-upload-size <size>', 'largest file accepted (BITSMaximumUploadSize)', parseSize)
    .option('--max-fragment-size <size>', 'largest fragment accepted; larger → 413 (default 256M)', parseSize)
    .option('--session-timeout <seconds>', 'drop sessions idle this long (default 1209600 = 14 days)', parsePositiveInt)
    .option(
      '--empty-session-timeout <seconds>',
      'drop sessions that never got a byte after this (default 300)',
      parsePositiveInt,
    )
    .option(
      '--cleanup-interval <seconds>',
      'how often stale sessions are swept (default 43200 = 12 h)',
      parsePositiveInt,
    )
    .option('--allow-overwrite', 'let an upload replace an existing file (BITSAllowOverwrites)')
    .option('--notify-url <url>', 'server application to notify when an upload completes')
    .addOption(
      new Option('--notify-type <type>', 'how the application gets the file').choices(['by-reference', 'by-value']),
    )
    .option('--notify-timeout <seconds>', 'back-end answer deadline (default 300)', parsePositiveInt)
    .option('--host-id <name>', 'this farm node, sent as BITS-Host-Id')
    .option('--host-id-fallback-timeout <seconds>', 'BITS-Host-Id-Fallback-Timeout (default 86400)', parsePositiveInt)
    .option('--max-sessions-per-user <n>', 'open sessions per user, 0 = unlimited (default 50)', parsePositiveInt)
    .option(
      '--max-sessions-per-address <n>',
      'open sessions per client address, 0 = unlimited (default 100)',
      parsePositiveInt,
    )
    .option('--max-session-bytes-per-user <size>', 'bytes of open sessions per user (default 64G)', parseSizeOrZero)
    .option(
      '--max-session-bytes-per-address <size>',
      'bytes of open sessions per address (default 64G)',
      parseSizeOrZero,
    )
    .option('--serve-files', 'also serve committed uploads with GET/HEAD')
    .option('--public-origin <url>', 'public http(s)://host[:port]: base of reply URLs and of a relative --notify-url')
    .option('--htpasswd <file>', 'HTTP Basic users: lines user:hash (scrypt from hash-password, or bcrypt)')
    .option('--bearer-tokens <file>', 'bearer tokens: lines user:sha256-hex (from hash-token)')
    .option('--anonymous', 'accept uploads without authentication (explicitly)')
    .addOption(
      new Option('--database-url <url>', 'record sessions in PostgreSQL (a farm; also $DATABASE_URL)').env(
        'DATABASE_URL',
      ),
    )
    .option('--database-pool-size <n>', 'database connections per instance (default 20)', parsePositiveInt)
    .option(
      '--metrics-port <n>',
      'serve Prometheus metrics at http://<metrics-host>:<n>/metrics (0 = any free port)',
      parsePort,
    )
    .option('--metrics-host <addr>', 'address of the metrics listener', '127.0.0.1')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
}

function parseSizeOrZero(text: string): number {
  return text.trim() === '0' ? 0 : parseSize(text);
}

/** `hash-password` / `hash-token`: one secret on stdin → the value for the credential file. */
async function hashCommand(which: string): Promise<number> {
  const secret = (await text(process.stdin)).replace(/\r?\n$/, '');
  if (secret === '') {
    process.stderr.write(`bits-upload-server ${which}: give the secret on standard input\n`);
    return 2;
  }
  process.stdout.write(`${which === 'hash-password' ? await hashPassword(secret) : tokenDigest(secret)}\n`);
  return 0;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * The authentication the flags ask for. Without any auth flag the server stays anonymous for
 * compatibility, but only on a loopback address and with a loud warning; elsewhere it refuses
 * to start until --anonymous says it is meant (docs/upload-server.md, "Authentication").
 */
async function authFromFlags(o: CliOptions): Promise<AuthHook | undefined | string> {
  const credentials = o.htpasswd !== undefined || o.bearerTokens !== undefined;
  if (credentials && o.anonymous) return '--anonymous cannot be combined with --htpasswd/--bearer-tokens';
  if (credentials) {
    return credentialsAuth(
      {
        ...(o.htpasswd !== undefined && { passwords: await readPasswordFile(o.htpasswd) }),
        ...(o.bearerTokens !== undefined && { tokens: await readTokenFile(o.bearerTokens) }),
      },
      () => systemClock.wallMs(),
    );
  }
  if (o.anonymous) return undefined;
  if (!isLoopback(o.host)) {
    return `no authentication configured for ${o.host}: give --htpasswd and/or --bearer-tokens, or --anonymous to accept anyone`;
  }
  process.stderr.write(
    'bits-upload-server: WARNING: no authentication configured — ANY client that reaches this port can upload.\n' +
      'bits-upload-server: WARNING: allowed only on loopback; use --htpasswd / --bearer-tokens, or --anonymous to say it is meant.\n',
  );
  return undefined;
}

/** Run the CLI; resolves with the exit code once the server has stopped. */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'hash-password' || argv[0] === 'hash-token') return hashCommand(argv[0]);
  const cmd = program();
  try {
    cmd.parse(argv as string[], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  const o = cmd.opts<CliOptions>();
  if ((o.cert === undefined) !== (o.key === undefined)) {
    process.stderr.write('bits-upload-server: --cert and --key go together\n');
    return 2;
  }
  let server: Awaited<ReturnType<typeof startBitsUploadServer>>;
  try {
    const authorize = await authFromFlags(o);
    if (typeof authorize === 'string') {
      process.stderr.write(`bits-upload-server: ${authorize}\n`);
      return 2;
    }
    server = await startBitsUploadServer(
      {
        root: o.root,
        urlPrefix: o.urlPrefix,
        ...(o.sessionsDir !== undefined && { sessionsDir: o.sessionsDir }),
        ...(o.maxUploadSize !== undefined && { maxUploadSize: o.maxUploadSize }),
        ...(o.maxFragmentSize !== undefined && { maxFragmentSize: o.maxFragmentSize }),
        ...(o.sessionTimeout !== undefined && { sessionTimeoutS: o.sessionTimeout }),
        ...(o.emptySessionTimeout !== undefined && { emptySessionTimeoutS: o.emptySessionTimeout }),
        ...(o.cleanupInterval !== undefined && { cleanupIntervalS: o.cleanupInterval }),
        allowOverwrite: o.allowOverwrite === true,
        ...(o.notifyUrl !== undefined && { notificationUrl: o.notifyUrl }),
        ...(o.notifyUrl !== undefined && { notificationType: o.notifyType ?? 'by-reference' }),
        ...(o.notifyTimeout !== undefined && { notificationTimeoutS: o.notifyTimeout }),
        ...(o.hostId !== undefined && { hostId: o.hostId }),
        ...(o.hostIdFallbackTimeout !== undefined && { hostIdFallbackTimeoutS: o.hostIdFallbackTimeout }),
        ...(o.maxSessionsPerUser !== undefined && { maxSessionsPerUser: o.maxSessionsPerUser }),
        ...(o.maxSessionsPerAddress !== undefined && { maxSessionsPerAddress: o.maxSessionsPerAddress }),
        ...(o.maxSessionBytesPerUser !== undefined && { maxSessionBytesPerUser: o.maxSessionBytesPerUser }),
        ...(o.maxSessionBytesPerAddress !== undefined && { maxSessionBytesPerAddress: o.maxSessionBytesPerAddress }),
        serveUploads: o.serveFiles === true,
        ...(o.publicOrigin !== undefined && { publicOrigin: o.publicOrigin }),
        ...(authorize !== undefined && { authorize }),
        ...(o.databaseUrl !== undefined && o.databaseUrl !== '' && { databaseUrl: o.databaseUrl }),
        ...(o.databasePoolSize !== undefined && { databasePoolSize: o.databasePoolSize }),
        ...(o.metricsPort !== undefined && { metricsListen: { port: o.metricsPort, host: o.metricsHost } }),
        ...(o.cert !== undefined &&
          o.key !== undefined && { tls: { cert: await readFile(o.cert), key: await readFile(o.key) } }),
        onError: (err) => process.stderr.write(`bits-upload-server: ${(err as Error)?.stack ?? String(err)}\n`),
      },
      { port: o.port, host: o.host },
    );
  } catch (err) {
    process.stderr.write(`bits-upload-server: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`listening on ${server.url}\n`);
  if (server.metricsUrl !== undefined) process.stdout.write(`metrics on ${server.metricsUrl}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
