/**
 * Installs what the stack needs on a fresh Debian machine, idempotently: Debian
 * packages (apt), the pinned Kafka + MirrorMaker 2 jars (Maven Central) and the pinned
 * FerretDB v1 binary (built from its Go module).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { paths, REPO_ROOT } from './paths.ts';

export const KAFKA_POM = path.join(REPO_ROOT, 'infra', 'stack', 'kafka', 'pom.xml');
export const KAFKA_VERSION =
  /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(KAFKA_POM, 'utf8'))?.[1] ?? '';
export const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
export const FERRETDB_VERSION = 'v1.24.2';
export const FERRETDB_BIN = path.join(paths.bin, 'ferretdb');
export const JAEGER_MODULE = 'github.com/jaegertracing/jaeger';
export const JAEGER_VERSION = 'v1.76.0';
export const JAEGER_BIN = path.join(paths.bin, 'jaeger');

/** A binary the stack runs, and the Debian package that provides it. */
const DEBIAN: ReadonlyArray<readonly [string, string]> = [
  ['postgres', 'postgresql'],
  ['redis-server', 'redis-server'],
  ['redis-cli', 'redis-tools'],
  ['rabbitmq-server', 'rabbitmq-server'],
  ['mosquitto', 'mosquitto'],
  ['mosquitto_pub', 'mosquitto-clients'],
  ['kcat', 'kcat'],
  ['java', 'default-jre-headless'],
  ['mvn', 'maven'],
  ['go', 'golang-go'],
  // The external load generator of `npm run bench` (e2e/bench/wrk.ts): throughput measured from outside.
  ['wrk', 'wrk'],
  // Not run by the stack: the browser the ops console's Playwright tests drive (Playwright cannot download its own here).
  ['chromium', 'chromium'],
];

const SEARCH_PATH = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/go/bin'];

/** PostgreSQL's server binaries live only in its versioned folder, newest first. */
function postgresBinDirs(): string[] {
  if (!existsSync('/usr/lib/postgresql')) return [];
  return readdirSync('/usr/lib/postgresql')
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => `/usr/lib/postgresql/${v}/bin`);
}

/**
 * Binaries looked up in one place only: PostgreSQL's server lives in its versioned
 * folder, and /usr/sbin/rabbitmq-server is a wrapper that switches to the rabbitmq
 * user (who cannot write into the repo), so take the real script.
 */
const FIXED_DIRS: Record<string, () => string[]> = {
  postgres: postgresBinDirs,
  initdb: postgresBinDirs,
  'rabbitmq-server': () => ['/usr/lib/rabbitmq/bin'],
};

/** Absolute path of a binary, or undefined when it is not installed. */
export function which(binary: string): string | undefined {
  const dirs = FIXED_DIRS[binary]?.() ?? SEARCH_PATH;
  for (const dir of dirs) {
    const candidate = path.join(dir, binary);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function requireBinary(binary: string): string {
  const found = which(binary);
  if (!found) throw new Error(`${binary} not found after install`);
  return found;
}

/**
 * Runs a command to the end without blocking the event loop (the Kafka jars and the Go builds
 * run while the services that need neither start); resolves with its standard output, or fails
 * with the tail of its output.
 */
function run(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let output = '';
    const keep = (d: string) => {
      output = (output + d).slice(-64 * 1024);
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      keep(d);
    });
    child.stderr.setEncoding('utf8').on('data', keep);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(stdout);
      const tail = output.trim().split('\n').slice(-15).join('\n');
      reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal}):\n${tail}`));
    });
  });
}

/** Installs missing Debian packages; returns the packages it installed. */
export async function ensureDebianPackages(): Promise<string[]> {
  const missing = [...new Set(DEBIAN.filter(([bin]) => !which(bin)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages ${missing.join(' ')}; run as root or install them with apt-get`);
  }
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { env });
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
  return missing;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Fetches the pinned Kafka and MirrorMaker 2 jars unless the same pom was fetched already. */
export async function ensureKafkaJars(): Promise<boolean> {
  const stamp = path.join(paths.kafkaLibs, '.pom.sha256');
  const want = sha256(KAFKA_POM);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return false;
  rmSync(paths.kafkaLibs, { recursive: true, force: true });
  mkdirSync(paths.kafkaLibs, { recursive: true });
  await run('mvn', [
    '-q',
    '-B',
    '-f',
    KAFKA_POM,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${paths.kafkaLibs}`,
    '-DincludeScope=runtime',
  ]);
  writeFileSync(stamp, want);
  return true;
}

/**
 * Builds the pinned FerretDB from its Go module. `go install mod@version` cannot be
 * used: it asks the proxy for the module's version list (deprecation check), which is
 * not served here, and FerretDB panics unless build/version/version.txt names a version.
 */
export async function ensureFerretDb(): Promise<boolean> {
  if (existsSync(FERRETDB_BIN)) {
    const out = spawnSync(FERRETDB_BIN, ['--version'], { encoding: 'utf8' }).stdout ?? '';
    if (out.includes(`version: ${FERRETDB_VERSION}`)) return false;
  }
  const go = requireBinary('go');
  const env = { GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' };
  const info = JSON.parse(
    await run(go, ['mod', 'download', '-json', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`], { env }),
  ) as { Dir: string };
  const src = path.join(paths.build, `ferretdb-${FERRETDB_VERSION}`);
  rmSync(src, { recursive: true, force: true });
  mkdirSync(paths.build, { recursive: true });
  cpSync(info.Dir, src, { recursive: true });
  makeWritable(src);
  writeFileSync(path.join(src, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
  mkdirSync(paths.bin, { recursive: true });
  // Only the PostgreSQL backend is used: leaving out SQLite (a large transpiled C library)
  // cut a cold build on two cores from about 126 s to about 94 s; no debug information, about
  // 6% less again (stack traces keep their file and line).
  await run(
    go,
    [
      'build',
      '-trimpath',
      '-tags',
      'ferretdb_no_sqlite',
      '-gcflags=all=-dwarf=false',
      '-ldflags=-s -w',
      '-o',
      FERRETDB_BIN,
      './cmd/ferretdb',
    ],
    { cwd: src, env },
  );
  rmSync(src, { recursive: true, force: true });
  return true;
}

/**
 * Builds the pinned Jaeger v2 (`cmd/jaeger` of the v1.x module line) for the opt-in trace backend.
 * `go install mod@version` refuses it (its go.mod has replace directives), so it is built as a
 * tool of a throwaway module; a cold build takes about 13 minutes on two cores, which is why the
 * stack starts Jaeger only when asked (MERIDIAN_TRACES=jaeger, or `npm run stack -- up jaeger`).
 * The Go module carries no UI assets: the query API answers, the UI page is a placeholder.
 */
export async function ensureJaeger(): Promise<boolean> {
  const stamp = `${JAEGER_BIN}.version`;
  if (existsSync(JAEGER_BIN) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === JAEGER_VERSION)
    return false;
  const go = requireBinary('go');
  const env = { GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' };
  const dir = path.join(paths.build, `jaeger-${JAEGER_VERSION}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await run(go, ['mod', 'init', 'meridian.local/jaeger-build'], { cwd: dir, env });
  await run(go, ['get', '-tool', `${JAEGER_MODULE}/cmd/jaeger@${JAEGER_VERSION}`], { cwd: dir, env });
  mkdirSync(paths.bin, { recursive: true });
  await run(go, ['build', '-trimpath', '-o', JAEGER_BIN, `${JAEGER_MODULE}/cmd/jaeger`], { cwd: dir, env });
  writeFileSync(stamp, `${JAEGER_VERSION}\n`);
  rmSync(dir, { recursive: true, force: true });
  return true;
}

function makeWritable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) makeWritable(p);
    else chmodSync(p, 0o644);
  }
}

/**
 * PostgreSQL refuses to run as root, so its data lives in the repo but is owned by the
 * `postgres` user, which must be able to reach it. Where an ancestor folder is closed
 * to others (a clone under /root), grant search (x) permission only, and say so.
 */
export function ensureTraversable(target: string, uid: number, log: (line: string) => void): void {
  const chain: string[] = [];
  for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
    chain.unshift(dir);
    if (dir === path.dirname(dir)) break;
  }
  for (const dir of chain) {
    const probe = spawnSync('test', ['-x', dir], { uid });
    if (probe.status !== 0) {
      const mode = statSync(dir).mode;
      chmodSync(dir, mode | 0o001);
      log(`granted o+x on ${dir} so the postgres user can reach the stack folder`);
    }
  }
}
