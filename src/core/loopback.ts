/** 127.0.0.0/8, ::1 and `localhost`: where plain HTTP never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/gu, '');
  if (h === 'localhost' || h === '::1') return true;
  return /^127(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}$/u.test(h);
}
