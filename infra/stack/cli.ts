/**
 * `npm run stack up|status|down|reset [service-id...]` — the local real-service stack.
 * Composition root: the only place here that reads the environment.
 */
import { down, reset, StackError, status, up } from './stack.ts';

const [command = 'status', ...rest] = process.argv.slice(2);
const json = rest.includes('--json');
const only = rest.filter((a) => !a.startsWith('--'));
const log = (line: string) => console.log(line);

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function main(): Promise<number> {
  switch (command) {
    case 'up': {
      const t0 = performance.now();
      console.log('meridian stack: up');
      const report = await up(process.env, log, only);
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      console.log(
        `meridian stack: ready in ${secs}s (${report.started.length} started, ${report.alreadyRunning.length} already running, ${report.external.length} external)`,
      );
      if (json) console.log(JSON.stringify(report));
      return 0;
    }
    case 'status': {
      const rows = await status(process.env);
      if (json) {
        console.log(JSON.stringify(rows));
      } else {
        console.log(
          table([
            ['SERVICE', 'REGION', 'PORT', 'PID', 'VERSION', 'HEALTHY', 'LOG / REASON'],
            ...rows.map((r) => [
              r.service,
              r.region,
              String(r.port ?? '-'),
              String(r.pid ?? '-'),
              r.version || '-',
              r.healthy ? 'yes' : 'NO',
              r.healthy ? r.log : `${r.reason}${r.log ? ` — see ${r.log}` : ''}`,
            ]),
          ]),
        );
      }
      return rows.every((r) => r.healthy) ? 0 : 1;
    }
    case 'down':
      console.log('meridian stack: down');
      await down(process.env, log, only);
      return 0;
    case 'reset':
      console.log('meridian stack: reset');
      await reset(process.env, log);
      return 0;
    default:
      console.error(
        `usage: npm run stack -- up|status|down|reset [service-id...] [--json]\nunknown command "${command}"`,
      );
      return 2;
  }
}

// A probe that timed out may leave a client still retrying in the background (kafkajs,
// amqplib): the command is done when main() is, so exit rather than wait for them.
try {
  process.exitCode = await main();
} catch (err) {
  if (err instanceof StackError) {
    console.error(`meridian stack: FAILED${err.service ? ` — ${err.service}` : ''}: ${err.message}`);
    if (err.log) console.error(`  log: ${err.log}`);
  } else {
    console.error(`meridian stack: FAILED: ${(err as Error).stack ?? err}`);
  }
  process.exitCode = 1;
}
process.exit();
