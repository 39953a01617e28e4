import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FAKE_NM = fileURLToPath(new URL('./fake-network-manager.py', import.meta.url));

/** A real dbus-daemon on a private socket, with a fake NetworkManager on it. */
export interface PrivateBus {
  /** `unix:path=…`, for DBUS_SYSTEM_BUS_ADDRESS. */
  readonly address: string;
  /** Set NetworkManager's `Metered` (NM_METERED_*: 0 unknown, 1 yes, 2 no, 3 guess-yes, 4 guess-no). */
  setMetered(value: number): void;
  /** Take NetworkManager off the bus (the bus stays). */
  stopNetworkManager(): Promise<void>;
  close(): Promise<void>;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** Start dbus-daemon (Debian package dbus) in `dir` and the fake NetworkManager on it. */
export async function startPrivateBus(dir: string, metered = 2): Promise<PrivateBus> {
  const socketPath = join(dir, 'system_bus_socket');
  const config = join(dir, 'bus.conf');
  const meteredFile = join(dir, 'metered');
  writeFileSync(meteredFile, String(metered));
  writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socketPath}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`,
  );
  const daemon = spawn('dbus-daemon', ['--config-file', config, '--nofork', '--nopidfile', '--print-address'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let address = '';
  await new Promise<void>((resolve, reject) => {
    daemon.stdout?.setEncoding('utf8');
    daemon.stdout?.on('data', (text: string) => {
      address += text;
      if (address.includes('\n')) resolve();
    });
    daemon.on('exit', (code) => reject(new Error(`dbus-daemon exited (${code})`)));
  });
  const nm = spawn('python3', [FAKE_NM, socketPath, meteredFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    nm.stdout?.setEncoding('utf8');
    nm.stdout?.on('data', (text: string) => {
      if (text.includes('ready')) resolve();
    });
    nm.on('exit', (code) => reject(new Error(`the fake NetworkManager exited (${code})`)));
  });
  return {
    address: `unix:path=${socketPath}`,
    setMetered: (value) => writeFileSync(meteredFile, String(value)),
    stopNetworkManager: () => stop(nm),
    async close() {
      await stop(nm);
      await stop(daemon);
    },
  };
}
