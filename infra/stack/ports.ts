/** Who listens on a local TCP port: read from /proc, so a foreign owner can be named. */
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const localPort = Number.parseInt(cols[1]?.split(':')[1] ?? '', 16);
      // st 0A = TCP_LISTEN
      if (localPort === port && cols[3] === '0A') inodes.add(cols[9] ?? '');
    }
  }
  return inodes;
}

export interface PortOwner {
  readonly pid?: number;
  readonly name?: string;
}

/** The process listening on a port, or undefined when nothing listens. */
export function portOwner(port: number): PortOwner | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1] ?? '')) {
        let name: string | undefined;
        try {
          name = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
        } catch {
          name = undefined;
        }
        return { pid: Number(entry), name };
      }
    }
  }
  return {};
}

/** Process ids of a pid's process group and descendants, used to tell our listeners apart. */
export function familyOf(pid: number): Set<number> {
  const family = new Set<number>([pid]);
  const parents = new Map<number, number[]>();
  let pgid: string | undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    pgid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2];
  } catch {
    return family;
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(rest[1]);
      if (rest[2] === pgid) family.add(Number(entry));
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // process vanished while scanning
    }
  }
  const queue = [pid];
  while (queue.length) {
    const p = queue.pop() as number;
    for (const child of parents.get(p) ?? []) {
      if (!family.has(child)) {
        family.add(child);
        queue.push(child);
      }
    }
  }
  return family;
}

/** True when a TCP connection to 127.0.0.1:port succeeds. */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const RESERVED_PORTS_FILE = '/proc/sys/net/ipv4/ip_local_reserved_ports';

/** Parses the kernel's reserved-ports list ("41000-42999,45672") into ranges. */
export function parsePortRanges(text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-').map((n) => Number.parseInt(n, 10));
    if (a === undefined || !Number.isInteger(a)) throw new Error(`not a port range: ${part}`);
    out.push([a, b ?? a]);
  }
  return out;
}

/** The union of `ranges`, merged and sorted, in the kernel's notation. */
export function formatPortRanges(ranges: ReadonlyArray<readonly [number, number]>): string {
  const sorted = [...ranges].map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]);
  sorted.sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');
}

/**
 * Keeps the kernel from handing `ranges` out as ephemeral ports (adds them to what is reserved
 * already). Answers what happened, for the log; never throws (without root it cannot, and the
 * stack still runs, only exposed to a rare EADDRINUSE at start).
 */
export function reservePorts(ranges: ReadonlyArray<readonly [number, number]>, file = RESERVED_PORTS_FILE): string {
  try {
    const current = parsePortRanges(readFileSync(file, 'utf8'));
    const wanted = formatPortRanges([...current, ...ranges]);
    if (wanted === formatPortRanges(current)) return `fixed ports reserved already (${wanted})`;
    writeFileSync(file, wanted);
    return `fixed ports reserved (${wanted}): no outgoing connection is given one`;
  } catch (err) {
    return `fixed ports not reserved (${(err as Error).message}): an outgoing connection may take one`;
  }
}
