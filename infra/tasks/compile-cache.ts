/**
 * Node's on-disk compile cache (the V8 code cache of every module it loads, checked against the
 * source) for the Node processes a task starts: the test command starts hundreds (a process per
 * test file, region processes, edges, bridges), and each spent most of its start compiling the
 * same modules again (a region process: about 1 s of its ~4 s of CPU to ready). The directory is
 * under node_modules/.cache, so a fresh clone starts cold and fills it on the first run.
 */
import path from 'node:path';
import { REPO_ROOT } from '../stack/paths.ts';

const COMPILE_CACHE_DIR = path.join(REPO_ROOT, 'node_modules', '.cache', 'node-compile-cache');

/** Sets NODE_COMPILE_CACHE for the children of this process, unless it is set already. */
export function shareCompileCache(env: NodeJS.ProcessEnv = process.env): void {
  env.NODE_COMPILE_CACHE ??= COMPILE_CACHE_DIR;
}
