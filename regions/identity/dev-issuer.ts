/**
 * Development token issuer: mints ES256 JWTs for any subject a caller asks for, so it
 * must never run where an external issuer is configured (identity.ts decides that once
 * at start). The signing key is a private JWK in a file shared by every region process
 * on the machine, so a token minted by one process verifies in all of them.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { DomainError } from '../../domains/shared/errors.ts';
import { TENANT_PATTERN } from '../../edge/auth/token-verifier.ts';
import { problem } from '../host/problem.ts';

/** What a caller may put in a dev token. */
export interface TokenRequest {
  readonly sub: string;
  readonly tenant: string;
  readonly scopes: readonly string[];
}

/** An OAuth 2.0 token response (RFC 6749 §5.1). */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
}

/** Options of createDevIssuer. */
export interface DevIssuerOptions {
  /** Private JWK file, created (mode 0600) on first use and reused afterwards. */
  readonly keyFile: string;
  readonly issuer?: string;
  readonly audience?: string;
  readonly ttlSeconds?: number;
}

/** A development issuer: programmatic minting, its public JWKS and the HTTP routes serving both. */
export interface DevIssuer {
  readonly issuer: string;
  readonly audience: string;
  issue(claims: TokenRequest): Promise<TokenResponse>;
  jwks(): Promise<{ keys: JWK[] }>;
  routes(): Hono;
}

const SUB = /^[A-Za-z0-9_.@:-]{1,128}$/;
const SCOPE = /^[a-z][a-z0-9_-]*:[a-z][a-z0-9_-]*$/;
const MAX_SCOPES = 32;
const ALG = 'ES256';

/** A rejected token request: which field, and why (client-safe). */
export interface TokenRequestProblem {
  readonly field: string;
  readonly reason: string;
}

/** Checks a token request body; returns the request or the first field that is wrong. */
export function validateTokenRequest(
  body: unknown,
): { ok: true; value: TokenRequest } | { ok: false; problem: TokenRequestProblem } {
  const fail = (field: string, reason: string) => ({ ok: false as const, problem: { field, reason } });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail('body', 'must be a JSON object');
  const { sub, tenant, scopes } = body as Record<string, unknown>;
  if (typeof sub !== 'string' || !SUB.test(sub)) return fail('sub', 'must be 1-128 characters of [A-Za-z0-9_.@:-]');
  if (typeof tenant !== 'string' || !TENANT_PATTERN.test(tenant)) {
    return fail('tenant', 'must be 1-64 characters of [a-z0-9-]');
  }
  if (!Array.isArray(scopes)) return fail('scopes', 'must be an array of "<resource>:<action>" strings');
  if (scopes.length > MAX_SCOPES) return fail('scopes', `must hold at most ${MAX_SCOPES} entries`);
  for (const [i, scope] of scopes.entries()) {
    if (typeof scope !== 'string' || !SCOPE.test(scope)) {
      return fail(`scopes[${i}]`, `must match ${SCOPE.source} (e.g. "orders:write")`);
    }
  }
  return { ok: true, value: { sub, tenant, scopes: [...new Set(scopes as string[])] } };
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

function isEcPrivateJwk(jwk: unknown): jwk is JWK & { kid: string; d: string } {
  if (typeof jwk !== 'object' || jwk === null) return false;
  const k = jwk as Record<string, unknown>;
  return k.kty === 'EC' && k.crv === 'P-256' && typeof k.d === 'string' && typeof k.kid === 'string';
}

async function generateKeyFile(keyFile: string): Promise<void> {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  // The RFC 7638 thumbprint is a stable kid derived from the key itself.
  const kid = await calculateJwkThumbprint(jwk);
  const text = `${JSON.stringify({ ...jwk, kid, alg: ALG, use: 'sig' }, null, 2)}\n`;
  await mkdir(path.dirname(keyFile), { recursive: true });
  // Write aside, then link into place: link() fails if the file exists, so when several
  // region processes start at once exactly one key wins and nobody reads a half-written file.
  const tmp = `${keyFile}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, keyFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

async function loadSigningKey(keyFile: string): Promise<SigningKey> {
  let text: string;
  try {
    text = await readFile(keyFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await generateKeyFile(keyFile);
    text = await readFile(keyFile, 'utf8');
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch (cause) {
    throw new Error(`dev issuer key file ${keyFile} is not JSON; delete it to generate a new key`, { cause });
  }
  if (!isEcPrivateJwk(jwk)) {
    throw new Error(`dev issuer key file ${keyFile} is not a P-256 private JWK with a kid; delete it to regenerate`);
  }
  const privateKey = await importJWK(jwk, ALG);
  if (!(privateKey instanceof CryptoKey)) throw new Error(`dev issuer key file ${keyFile}: not an asymmetric key`);
  const { d: _private, ...publicPart } = jwk;
  return { kid: jwk.kid, privateKey, publicJwk: { ...publicPart, kid: jwk.kid, alg: ALG, use: 'sig' } };
}

/** Creates a development issuer whose ES256 key lives in `keyFile` (generated on first use). */
export function createDevIssuer(options: DevIssuerOptions): DevIssuer {
  const { keyFile, issuer = 'meridian-dev', audience = 'meridian', ttlSeconds = 3600 } = options;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new TypeError('ttlSeconds must be a positive integer');
  let loading: Promise<SigningKey> | undefined;
  const signingKey = (): Promise<SigningKey> => {
    // Memoised, but a failed load is forgotten so the next call can retry (e.g. a disk that was full).
    loading ??= loadSigningKey(keyFile).catch((err: unknown) => {
      loading = undefined;
      throw err;
    });
    return loading;
  };

  async function issue(claims: TokenRequest): Promise<TokenResponse> {
    const checked = validateTokenRequest(claims);
    if (!checked.ok) {
      const { field, reason } = checked.problem;
      throw new DomainError('BAD_USER_INPUT', `${field} ${reason}`, { details: { field } });
    }
    const { sub, tenant, scopes } = checked.value;
    const key = await signingKey();
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await new SignJWT({ tenant, scopes: [...scopes] })
      .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(sub)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ttlSeconds)
      .setJti(randomUUID())
      .sign(key.privateKey);
    return { access_token: accessToken, token_type: 'Bearer', expires_in: ttlSeconds };
  }

  async function jwks(): Promise<{ keys: JWK[] }> {
    const key = await signingKey();
    return { keys: [{ ...key.publicJwk }] };
  }

  function routes(): Hono {
    const app = new Hono();
    app.post(
      '/auth/token',
      bodyLimit({
        maxSize: 8 * 1024,
        onError: (c) => problem(c, 413, 'Content Too Large', 'a token request is at most 8 KiB of JSON'),
      }),
      async function devToken(c) {
        let body: unknown;
        try {
          body = JSON.parse(await c.req.text());
        } catch {
          return problem(
            c,
            400,
            'Bad Request',
            'body: must be a JSON object, e.g. {"sub":"u1","tenant":"t1","scopes":[]}',
          );
        }
        const checked = validateTokenRequest(body);
        if (!checked.ok) return problem(c, 400, 'Bad Request', `${checked.problem.field}: ${checked.problem.reason}`);
        // RFC 6749 §5.1: "The authorization server MUST include the HTTP "Cache-Control" response
        // header field with a value of "no-store" in any response containing tokens".
        c.header('Cache-Control', 'no-store');
        return c.json(await issue(checked.value));
      },
    );
    app.get('/.well-known/jwks.json', async function devJwks(c) {
      c.header('Cache-Control', 'public, max-age=300');
      return c.json(await jwks());
    });
    return app;
  }

  return { issuer, audience, issue, jwks, routes };
}
