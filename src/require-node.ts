/**
 * The first import of every public entry point: on a Node.js older than openbits needs, stop
 * with one sentence that says so instead of a puzzling failure deep in a dependency. Nothing
 * the entry points import may fail at *link* time on an old Node (no static `node:sqlite`), so
 * that this module is evaluated before anything else.
 */
import { MIN_NODE_MAJOR } from './core/version.ts';

const major = Number(process.versions.node.split('.')[0]);
if (major < MIN_NODE_MAJOR) {
  throw new Error(`openbits needs Node.js ${MIN_NODE_MAJOR} or newer, but this is Node.js ${process.version}.`);
}
