/** Numbers as people read them. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(n: number): string {
  if (n < 0) return '?';
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`;
}

export function rate(bytesPerSecond: number | undefined): string {
  return bytesPerSecond === undefined || bytesPerSecond <= 0 ? '' : `${bytes(bytesPerSecond)}/s`;
}

export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export function time(ms: number | null): string {
  return ms === null ? '—' : new Date(ms).toLocaleString();
}

export function hresult(n: number): string {
  return `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** Percent done, or undefined while the size is unknown. */
export function percent(done: number, total: number): number | undefined {
  if (total < 0) return undefined;
  if (total === 0) return 100;
  return Math.min(100, (done / total) * 100);
}
