/** Where the local stack keeps everything: one gitignored folder at the repo root. */

import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Overridable so tests can run a throwaway stack next to the real one. */
export const STACK_DIR = process.env.MERIDIAN_STACK_DIR ?? path.join(REPO_ROOT, '.stack');

export const paths = {
  root: STACK_DIR,
  bin: path.join(STACK_DIR, 'bin'),
  build: path.join(STACK_DIR, 'build'),
  kafkaLibs: path.join(STACK_DIR, 'kafka', 'libs'),
  data: path.join(STACK_DIR, 'data'),
  conf: path.join(STACK_DIR, 'conf'),
  logs: path.join(STACK_DIR, 'logs'),
  run: path.join(STACK_DIR, 'run'),
};

export function dataDir(id: string): string {
  return path.join(paths.data, id);
}
export function confFile(name: string): string {
  return path.join(paths.conf, name);
}
export function logFile(id: string): string {
  return path.join(paths.logs, `${id}.log`);
}
export function pidFile(id: string): string {
  return path.join(paths.run, `${id}.pid.json`);
}
