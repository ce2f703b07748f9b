import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalIpv6 } from '../../../src/compute/api/servers/ipv6.js';

describe('accessIPv6 canonical form (as Nova stores it)', () => {
  it('compresses zeros and writes an embedded IPv4 tail in hex, as tempest expects', () => {
    assert.equal(canonicalIpv6('0000:0000:0000:0000:0000:babe:220.12.22.2'), '::babe:dc0c:1602');
    assert.equal(canonicalIpv6('2001:DB8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(canonicalIpv6('::1'), '::1');
  });
});
