/**
 * Where webhooks may go (SSRF). Standard Webhooks, "Server side request forgery (SSRF)": "The
 * main way to protect against SSRF is to prevent the webhooks from calling into internal
 * networks and services." So an endpoint's host must resolve only to public unicast addresses:
 * loopback, private (RFC 1918, unique local), link-local (cloud metadata at 169.254.169.254),
 * shared (CGNAT), multicast, documentation, benchmarking and reserved ranges (IANA special-purpose
 * registries, RFC 6890) are refused — checked when the endpoint is registered and again at every
 * connection (DNS can change). An explicit allow-list of CIDRs (tests, local development) lets
 * chosen internal ranges through; it is empty unless configured.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { DomainError } from '../../domains/shared/errors.ts';

const INTERNAL_V4: ReadonlyArray<[string, number]> = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // shared address space (CGNAT)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];

const INTERNAL_V6: ReadonlyArray<[string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments (Teredo among them)
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

/** An IPv4 address embedded in an IPv6 one that carries it (mapped, NAT64, 6to4), else undefined. */
function embeddedV4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::|::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = Number.parseInt(hex[1] as string, 16);
    const lo = Number.parseInt(hex[2] as string, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/.exec(lower);
  if (sixToFour) {
    const hi = Number.parseInt(sixToFour[1] as string, 16);
    const lo = Number.parseInt(sixToFour[2] as string, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

export interface AddressPolicy {
  /** Whether a webhook may connect to this IP address. */
  allows(address: string): boolean;
  /** Every address of the URL's host, once all are allowed; URL_NOT_ALLOWED naming the first refused. */
  resolve(hostname: string): Promise<LookupAddress[]>;
  /** A `lookup` for http.request that refuses internal addresses at connect time (no second resolution). */
  readonly lookup: typeof dnsLookup;
}

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

/** Parses `10.1.0.0/16,::1/128` (an address alone is /32 or /128). */
export function parseAllowList(text: string | undefined): Array<[string, number, 'ipv4' | 'ipv6']> {
  if (!text?.trim()) return [];
  return text.split(',').map((entry) => {
    const [address = '', bits] = entry.trim().split('/');
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    const prefix = bits === undefined ? max : Number(bits);
    if (
      family === 0 ||
      !Number.isInteger(prefix) ||
      prefix < 0 ||
      prefix > max ||
      (bits !== undefined && !/^\d+$/.test(bits))
    ) {
      throw new Error(`"${entry.trim()}" is not an address or CIDR range`);
    }
    return [address, prefix, family === 6 ? 'ipv6' : 'ipv4'];
  });
}

/** The policy: internal ranges refused unless `allow` (CIDRs) lets them through. */
export function addressPolicy(
  opts: { allow?: ReadonlyArray<[string, number, 'ipv4' | 'ipv6']>; resolver?: Resolver } = {},
): AddressPolicy {
  const internal = new BlockList();
  for (const [net, bits] of INTERNAL_V4) internal.addSubnet(net, bits, 'ipv4');
  for (const [net, bits] of INTERNAL_V6) internal.addSubnet(net, bits, 'ipv6');
  const allowed = new BlockList();
  for (const [net, bits, family] of opts.allow ?? []) allowed.addSubnet(net, bits, family);
  const resolver = opts.resolver ?? systemResolver;

  const check = (address: string, family: 'ipv4' | 'ipv6'): boolean =>
    allowed.check(address, family) || !internal.check(address, family);
  function allows(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    if (family === 4) return check(address, 'ipv4');
    const v4 = embeddedV4(address);
    return check(address, 'ipv6') && (v4 === undefined || check(v4, 'ipv4'));
  }

  function refused(hostname: string, address: string): DomainError {
    return new DomainError('URL_NOT_ALLOWED', `${hostname} resolves to ${address}, an internal address`, {
      details: { field: 'url', host: hostname, address },
    });
  }

  async function resolve(hostname: string): Promise<LookupAddress[]> {
    const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    const literal = isIP(bare);
    let addresses: LookupAddress[];
    if (literal !== 0) addresses = [{ address: bare, family: literal }];
    else {
      try {
        addresses = await resolver(bare);
      } catch (err) {
        throw new DomainError('URL_NOT_ALLOWED', `${bare} does not resolve: ${(err as Error).message}`, {
          details: { field: 'url', host: bare },
          cause: err,
        });
      }
    }
    if (addresses.length === 0)
      throw new DomainError('URL_NOT_ALLOWED', `${bare} has no address`, { details: { field: 'url', host: bare } });
    // Every answer must be allowed: a mixed answer would let a later connection pick the internal one.
    const bad = addresses.find((a) => !allows(a.address));
    if (bad) throw refused(bare, bad.address);
    return addresses;
  }

  const lookup = ((hostname: string, options: unknown, callback: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
    const wantsAll = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
    resolve(hostname).then(
      (addresses) => {
        if (wantsAll) cb(null, addresses);
        else cb(null, addresses[0]?.address, addresses[0]?.family);
      },
      (err: unknown) => cb(err),
    );
  }) as typeof dnsLookup;

  return { allows, resolve, lookup };
}
