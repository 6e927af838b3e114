/**
 * Chooses how a region process authenticates, once at start: an external issuer when one
 * is configured, otherwise the development issuer. The dev issuer mints tokens for anyone,
 * so it is never on when an external issuer is configured — there is no third "both" mode.
 */
import type { Hono } from 'hono';
import { ConfigError } from '../../infra/config/endpoints.ts';
import { createDevIssuer, type DevIssuer } from './dev-issuer.ts';
import { createTokenVerifier, type TokenVerifier } from './verifier.ts';

/** How this process authenticates callers. */
export interface Identity {
  readonly mode: 'dev' | 'external';
  /** The development issuer, only in dev mode. */
  readonly issuer?: DevIssuer;
  readonly verifier: TokenVerifier;
  /** `POST /auth/token` and `GET /.well-known/jwks.json`, only in dev mode. */
  readonly routes: Hono | undefined;
  /** One line for the start-up log saying which mode is on and where tokens come from. */
  readonly summary: string;
}

const ISSUER_VAR = 'MERIDIAN_JWT_ISSUER';
const JWKS_VAR = 'MERIDIAN_JWKS_URL';
const AUDIENCE_VAR = 'MERIDIAN_JWT_AUDIENCE';
/** Production mode refuses the development issuer unless this says `enabled` (a demo box, a staging drill). */
export const DEV_ISSUER_OPT_IN_VAR = 'MERIDIAN_DEV_ISSUER';

function httpUrl(variable: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${variable}: "${raw}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`${variable}: scheme ${url.protocol} is not http: or https:`);
  }
  return url.href;
}

/** The identity mode from MERIDIAN_JWT_ISSUER, MERIDIAN_JWKS_URL and MERIDIAN_JWT_AUDIENCE. */
export function identityFromEnv(
  env: Record<string, string | undefined>,
  defaults: { keyFile: string; gatewayUrl: string },
): Identity {
  const value = (name: string) => (env[name] === '' ? undefined : env[name]);
  const externalIssuer = value(ISSUER_VAR);
  const jwksUrl = value(JWKS_VAR);
  const audience = value(AUDIENCE_VAR) ?? 'meridian';
  if ((externalIssuer === undefined) !== (jwksUrl === undefined)) {
    // Half a configuration must not silently fall back to the dev issuer, which trusts anyone.
    const missing = externalIssuer === undefined ? ISSUER_VAR : JWKS_VAR;
    throw new ConfigError(
      `an external issuer needs both ${ISSUER_VAR} and ${JWKS_VAR}; ${missing} is not set ` +
        '(unset both to use the development issuer)',
    );
  }
  if (externalIssuer !== undefined && jwksUrl !== undefined) {
    const url = httpUrl(JWKS_VAR, jwksUrl);
    return {
      mode: 'external',
      verifier: createTokenVerifier({ issuer: externalIssuer, audience, jwks: { url } }),
      routes: undefined,
      summary: `identity: external issuer ${externalIssuer} (keys ${url}, audience ${audience})`,
    };
  }
  if (env.NODE_ENV === 'production' && value(DEV_ISSUER_OPT_IN_VAR) !== 'enabled') {
    // The dev issuer mints any token for anyone: in production it runs only when asked for by name.
    throw new ConfigError(
      `NODE_ENV=production needs an external issuer (${ISSUER_VAR} and ${JWKS_VAR}); ` +
        `the development issuer mints tokens for anyone and runs in production only with ${DEV_ISSUER_OPT_IN_VAR}=enabled`,
    );
  }
  const gateway = httpUrl('gateway URL', defaults.gatewayUrl).replace(/\/$/, '');
  const issuer = createDevIssuer({ keyFile: defaults.keyFile, audience });
  // Every process shares the key file, so verification reads the keys in-process: no start-up
  // ordering between the process serving /.well-known/jwks.json and the ones verifying.
  const verifier = createTokenVerifier({ issuer: issuer.issuer, audience, jwks: () => issuer.jwks() });
  return {
    mode: 'dev',
    issuer,
    verifier,
    routes: issuer.routes(),
    summary:
      `identity: DEVELOPMENT issuer (anyone can get a token) — POST ${gateway}/auth/token, ` +
      `keys ${gateway}/.well-known/jwks.json, key file ${defaults.keyFile}`,
  };
}
