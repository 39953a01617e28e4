// Moved to the api layer (the daemon's server uses it too).
export { http } from '../api/node-http.ts';
