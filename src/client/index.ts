/** The openbits client: a BitsManager served by bitsd over its Unix socket. */
export { type BitsClient, type ConnectOptions, connect } from './connect.ts';
export { isNotRunning } from './transport.ts';
