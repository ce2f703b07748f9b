/**
 * The canonical (RFC 5952, compressed) text of a valid IPv6 address, as Nova stores
 * accessIPv6 (netaddr's str()): `0:0:0:0:0:babe:220.12.22.2` becomes `::babe:dc0c:1602`.
 * The WHATWG URL parser serializes an IPv6 host exactly so. Input is schema-checked first.
 */
export function canonicalIpv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}
