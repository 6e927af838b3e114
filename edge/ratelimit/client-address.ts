/**
 * The partition an anonymous caller is limited by. IPv4 addresses stand alone; an IPv6
 * host usually owns a whole /64 and can pick a fresh address per request, so IPv6 callers
 * are grouped by their /64 prefix (RFC 6177 / common ISP practice), else per-IP limits
 * would not limit anyone.
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const HEXTET = /^[0-9a-f]{1,4}$/;

/** Expands an IPv6 address to eight hextets, or undefined when it is not one. */
function ipv6Hextets(address: string): number[] | undefined {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const dotted = text.slice(lastColon + 1);
  if (dotted.includes('.')) {
    // An embedded IPv4 tail ("::ffff:1.2.3.4") is two hextets written in dotted form.
    if (lastColon === -1 || !IPV4.test(dotted)) return undefined;
    const [a, b, c, d] = dotted.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    return groups.every((g) => HEXTET.test(g)) ? groups.map((g) => Number.parseInt(g, 16)) : undefined;
  };
  const head = parse(halves[0] as string);
  const rest = halves.length === 2 ? parse(halves[1] as string) : [];
  if (head === undefined || rest === undefined) return undefined;
  const given = head.length + rest.length;
  if (halves.length === 1) return given === 8 ? head : undefined;
  if (given > 7) return undefined;
  return [...head, ...Array<number>(8 - given).fill(0), ...rest];
}

/** A stable bucket key for a caller's address: IPv4 as is, IPv6 by /64, anything unparsable as 'unknown'. */
export function clientAddressKey(ip: string | undefined): string {
  if (ip === undefined) return 'unknown';
  let address = ip.trim().toLowerCase();
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const zone = address.indexOf('%');
  if (zone !== -1) address = address.slice(0, zone);
  if (IPV4.test(address)) return address;
  const hextets = ipv6Hextets(address);
  if (hextets === undefined) return 'unknown';
  // IPv4-mapped (::ffff:a.b.c.d) is an IPv4 caller that reached a dual-stack socket.
  if (hextets.slice(0, 5).every((h) => h === 0) && hextets[5] === 0xffff) {
    const [hi, lo] = [hextets[6] as number, hextets[7] as number];
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return `${hextets
    .slice(0, 4)
    .map((h) => h.toString(16))
    .join(':')}::/64`;
}
