/**
 * Throughput from outside: runs `wrk` (Debian's package, installed by `npm run stack -- up`)
 * against a URL and reports what it saw next to what it cost. A server's CPU is read from
 * /proc/<pid>/stat before and after the run, so it is the server's own work per request, which
 * load on the other cores distorts far less than wall-clock throughput; the generator's CPU is
 * wrk's own (read from the shell that waited for it), so a saturated generator shows.
 *
 * Requests come from a Lua script generated per run: a fixed request, a rotation of several,
 * or (for misses) a template whose `{{n}}` is replaced by a number no other request of the run
 * used. Latency percentiles are wrk's (microseconds, from its HDR-style histogram).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** One HTTP request wrk sends. `{{n}}` in path or body becomes a per-request unique number. */
export interface WrkRequest {
  readonly method?: 'GET' | 'POST';
  /** Path and query, e.g. `/graphql?query=...`. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** What to send: one request, or `every`-th request from `cold` and the rest rotating over `hot`. */
export interface WrkLoad {
  /** Base URL (scheme, host, port); the paths come from the requests. */
  readonly url: string;
  readonly hot: readonly WrkRequest[];
  readonly cold?: WrkRequest;
  /** With `cold`: one request in `coldEvery` is cold (1: every request). */
  readonly coldEvery?: number;
  readonly connections: number;
  readonly durationSeconds: number;
  /** wrk threads; 1 by default, so the generator leaves the other core to the server. */
  readonly threads?: number;
  /** Server processes whose CPU is read around the run, by label. */
  readonly servers?: Readonly<Record<string, number>>;
}

/** What one wrk run saw. */
export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  /** Socket errors plus non-2xx/3xx answers. */
  readonly errors: number;
  /** Latency in milliseconds. */
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  /** wrk's own CPU (user + system) per request, in milliseconds. */
  readonly generatorCpuMsPerRequest: number;
  /** wrk's CPU as a share of one core over the run (1 = a whole core: the generator is the bottleneck). */
  readonly generatorCores: number;
  /** Each watched server's CPU per request (ms) and share of one core. */
  readonly servers: Readonly<Record<string, { cpuMsPerRequest: number; cores: number }>>;
}

const CLOCK_TICK_MS = 10; // getconf CLK_TCK = 100 on Linux

/** User + system CPU of a process in milliseconds (all its threads), from /proc/<pid>/stat. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}

function lua(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}

function luaRequest(r: WrkRequest): string {
  const headers = Object.entries(r.headers ?? {})
    .map(([k, v]) => `[${lua(k)}] = ${lua(v)}`)
    .join(', ');
  return `{ method = ${lua(r.method ?? 'GET')}, path = ${lua(r.path)}, headers = { ${headers} }, body = ${r.body === undefined ? 'nil' : lua(r.body)} }`;
}

/** The Lua script for a load: request selection plus a machine-readable summary line. */
export function wrkScript(load: Pick<WrkLoad, 'hot' | 'cold' | 'coldEvery'>): string {
  return `
local hot = { ${load.hot.map(luaRequest).join(',\n')} }
local cold = ${load.cold ? luaRequest(load.cold) : 'nil'}
local coldEvery = ${load.coldEvery ?? 1}
-- Formatted in init: the Host header joins wrk.headers only then.
local prepared = {}
local counter = 0
local salt = ${lua(randomUUID().slice(0, 8))}
local nthreads = 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end
function init(args)
  for i, r in ipairs(hot) do prepared[i] = wrk.format(r.method, r.path, r.headers, r.body) end
end
function request()
  counter = counter + 1
  if cold ~= nil and counter % coldEvery == 0 then
    local n = salt .. "x" .. tostring(tid or 0) .. "x" .. tostring(counter)
    local path = string.gsub(cold.path, "{{n}}", n)
    local body = cold.body and string.gsub(cold.body, "{{n}}", n) or nil
    return wrk.format(cold.method, path, cold.headers, body)
  end
  return prepared[(counter % #prepared) + 1]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_RESULT {"requests":%d,"us":%d,"errors":%d,"p50":%d,"p95":%d,"p99":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
`;
}

/** Runs wrk once; throws when wrk is missing or fails. */
export async function runWrk(load: WrkLoad): Promise<WrkResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'meridian-wrk-'));
  const script = path.join(dir, 'load.lua');
  writeFileSync(script, wrkScript(load));
  const args = [
    '-t',
    String(load.threads ?? 1),
    '-c',
    String(load.connections),
    '-d',
    `${load.durationSeconds}s`,
    '--timeout',
    '5s',
    '-s',
    script,
    load.url,
  ];
  const servers = Object.entries(load.servers ?? {});
  const before = servers.map(([, pid]) => processCpuMs(pid));
  const started = performance.now();
  // The shell reports its waited-for children's CPU (fields cutime, cstime): that is wrk's.
  const child = spawn('sh', ['-c', 'wrk "$@"; s=$?; cat /proc/$$/stat >&2; exit $s', 'sh', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const wall = (performance.now() - started) / 1000;
  const after = servers.map(([, pid]) => processCpuMs(pid));
  rmSync(dir, { recursive: true, force: true });
  const line = /WRK_RESULT (\{.*\})/.exec(out)?.[1];
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}): ${err || out}`);
  const r = JSON.parse(line) as { requests: number; us: number; errors: number; p50: number; p95: number; p99: number };
  const stat = err.trim().split('\n').at(-1) ?? '';
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const wrkCpuMs = (Number(fields[13]) + Number(fields[14])) * CLOCK_TICK_MS;
  const seconds = r.us / 1e6;
  const requests = Math.max(1, r.requests);
  return {
    requests: r.requests,
    seconds,
    rps: r.requests / seconds,
    errors: r.errors,
    p50: r.p50 / 1000,
    p95: r.p95 / 1000,
    p99: r.p99 / 1000,
    generatorCpuMsPerRequest: wrkCpuMs / requests,
    generatorCores: wrkCpuMs / 1000 / wall,
    servers: Object.fromEntries(
      servers.map(([label], i) => {
        const cpu = (after[i] as number) - (before[i] as number);
        return [label, { cpuMsPerRequest: cpu / requests, cores: cpu / 1000 / wall }];
      }),
    ),
  };
}

/** Whether wrk is on the PATH (`npm run stack -- up` installs it). */
export async function haveWrk(): Promise<boolean> {
  const child = spawn('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' });
  return (await new Promise<number | null>((resolve) => child.on('close', resolve))) === 0;
}
