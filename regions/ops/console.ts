/**
 * The ops console: one Hono app behind the ops token (`MERIDIAN_OPS_TOKEN`, the token the
 * regions' and the edge's ops routes take). A browser signs in once with the token and gets a
 * session cookie (HttpOnly, SameSite=Strict, random, held in memory); scripts may send
 * `Authorization: Bearer <token>` instead. State-changing calls need a JSON body (a cross-site
 * form cannot send one without a CORS preflight, which the console never grants).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import { problem } from '../host/problem.ts';
import type { DrillRunner } from './drill-runner.ts';
import { parseDrillRequest } from './drill-runner.ts';
import type { EventFeed } from './event-feed.ts';
import {
  dashboardPage,
  drillStateFragment,
  eventRow,
  loginPage,
  regionsFragment,
  reportPage,
  reportsPage,
} from './pages.ts';
import { DRILL_REPORTS_DIR, listReports, readReport } from './reports.ts';
import { edgeStatus, regionStatus, type WatchedEdge, type WatchedRegion } from './status.ts';

/** The console's default port: next to the edge's 8080, outside both regions' blocks. */
export const OPS_CONSOLE_PORT = 8090;

const COOKIE = 'meridian_ops_session';
const SESSION_MS = 12 * 60 * 60 * 1000;

/** What the console is built from. */
export interface ConsoleOptions {
  readonly token: string;
  readonly regions: readonly WatchedRegion[];
  /** The edge whose routing view the dashboard shows too. */
  readonly edge?: WatchedEdge;
  readonly feed: EventFeed;
  readonly drills: DrillRunner;
  readonly reportsDir?: string;
  /** Secure cookies (when served over HTTPS behind a proxy). */
  readonly secureCookie?: boolean;
  /** Events one live stream carries per second at most (the rest are counted as skipped); 50 by default. */
  readonly eventsPerSecond?: number;
  /** Keep-alive comment interval on the event stream; 15 s by default. */
  readonly heartbeatMs?: number;
}

function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

/** The console app. */
export function consoleApp(opts: ConsoleOptions): Hono {
  const sessions = new Map<string, number>();
  const reportsDir = opts.reportsDir ?? DRILL_REPORTS_DIR;
  const app = new Hono();

  const signedIn = (c: Context): boolean => {
    const bearer = /^bearer +(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (bearer !== undefined) return sameSecret(bearer, opts.token);
    const id = getCookie(c, COOKIE);
    const until = id === undefined ? undefined : sessions.get(id);
    if (until === undefined) return false;
    if (until < Date.now()) {
      sessions.delete(id as string);
      return false;
    }
    return true;
  };

  app.use(async function noStore(c, next) {
    await next();
    c.res.headers.set('cache-control', 'no-store');
    c.res.headers.set('x-frame-options', 'DENY');
    c.res.headers.set('referrer-policy', 'no-referrer');
  });

  app.get('/login', (c) => c.html(loginPage()));
  app.post('/login', async (c) => {
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = typeof form.token === 'string' ? form.token : '';
    if (token === '' || !sameSecret(token, opts.token)) return c.html(loginPage('That token was refused.'), 401);
    const id = randomBytes(32).toString('base64url');
    sessions.set(id, Date.now() + SESSION_MS);
    setCookie(c, COOKIE, id, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      secure: opts.secureCookie ?? false,
      maxAge: SESSION_MS / 1000,
    });
    return c.redirect('/', 303);
  });
  app.post('/logout', (c) => {
    const id = getCookie(c, COOKIE);
    if (id) sessions.delete(id);
    deleteCookie(c, COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  });
  app.get('/health', (c) => c.json({ status: 'ok' }));

  // Everything below needs the token.
  app.use(async function guard(c, next) {
    if (signedIn(c)) return next();
    if (c.req.method === 'GET' && (c.req.header('accept') ?? '').includes('text/html'))
      return c.redirect('/login', 303);
    c.header('WWW-Authenticate', 'Bearer realm="meridian-ops"');
    return problem(c, 401, 'Unauthorized', 'the ops console needs the ops token (sign in, or Authorization: Bearer)');
  });

  const statuses = () => Promise.all(opts.regions.map((r) => regionStatus(r)));

  const edge = async () => (opts.edge ? edgeStatus(opts.edge) : undefined);

  app.get('/', async (c) => {
    const [regions, e] = await Promise.all([statuses(), edge()]);
    return c.html(dashboardPage(regions, e, opts.feed.recent(), opts.drills.current()));
  });
  app.get('/fragments/regions', async (c) => {
    const [regions, e] = await Promise.all([statuses(), edge()]);
    return c.html(regionsFragment(regions, e));
  });
  app.get('/fragments/drill', (c) => c.html(drillStateFragment(opts.drills.current())));
  app.get('/api/status', async (c) => {
    const [regions, e] = await Promise.all([statuses(), edge()]);
    return c.json({ regions, edge: e ?? null, drill: opts.drills.current() ?? null });
  });

  /**
   * The live stream: `event` frames (the event's routing facts and its table row), filtered by
   * `?type=` (a type prefix, e.g. `commerce.`). A browser cannot follow a telemetry flood, so each
   * stream carries at most `eventsPerSecond` and says how many it skipped in a `skipped` frame.
   */
  app.get('/api/events', (c) => {
    const prefix = (c.req.query('type') ?? '').slice(0, 100);
    const perSecond = opts.eventsPerSecond ?? 50;
    return streamSSE(c, async (stream) => {
      const closed = new Promise<void>((resolve) => {
        stream.onAbort(() => resolve());
        c.req.raw.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      let sent = 0;
      let skipped = 0;
      const stop = opts.feed.listen((e) => {
        if (prefix && !(e.type ?? e.topic).startsWith(prefix)) return;
        if (sent >= perSecond) {
          skipped += 1;
          return;
        }
        sent += 1;
        void stream.writeSSE({ event: 'event', id: e.id, data: JSON.stringify({ ...e, html: eventRow(e) }) });
      });
      const window = setInterval(() => {
        if (skipped > 0) void stream.writeSSE({ event: 'skipped', data: JSON.stringify({ skipped }) });
        sent = 0;
        skipped = 0;
      }, 1000);
      const ping = setInterval(() => void stream.write(': ping\n\n'), opts.heartbeatMs ?? 15_000);
      try {
        await stream.write('retry: 2000\n\n');
        await closed;
      } finally {
        clearInterval(ping);
        clearInterval(window);
        stop();
      }
    });
  });

  app.get('/api/drill', (c) => c.json(opts.drills.current() ?? null));
  app.post('/api/drill', async (c) => {
    if (!(c.req.header('content-type') ?? '').startsWith('application/json')) {
      return problem(c, 415, 'Unsupported Media Type', 'send the drill request as application/json');
    }
    const body = await c.req.json().catch(() => undefined);
    const request = parseDrillRequest(body);
    if (typeof request === 'string') return problem(c, 400, 'Bad Request', request);
    const started = opts.drills.start(request);
    if (!started) return problem(c, 409, 'Conflict', 'a drill is already running');
    return c.json(started, 202);
  });

  app.get('/drills', (c) => c.html(reportsPage(listReports(reportsDir))));
  app.get('/drills/:name', (c) => {
    const raw = c.req.param('name');
    if (raw.endsWith('.html')) {
      const name = raw.slice(0, -'.html'.length);
      // Only names readReport accepts, so no path can leave the reports folder.
      const file = path.join(reportsDir, `${name}.html`);
      if (!readReport(name, reportsDir) || !existsSync(file)) return problem(c, 404, 'Not Found', `no report ${raw}`);
      return c.html(readFileSync(file, 'utf8'));
    }
    const report = readReport(raw, reportsDir);
    if (!report)
      return problem(c, 404, 'Not Found', raw === 'latest' ? 'no drill has written a report yet' : `no report ${raw}`);
    return c.html(reportPage(raw, report));
  });

  app.notFound((c) => problem(c, 404, 'Not Found', `no route for ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => problem(c, 500, 'Internal Server Error', err.message));
  return app;
}
