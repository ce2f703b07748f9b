import { join } from 'node:path';
import type { LibvirtDriverOptions } from '../../../../src/compute/drivers/libvirt/index.js';
import { testVirtType, type TestLibvirtd } from '../../../support/libvirtd.js';

/** Driver options against a test libvirtd: instances under its temp dir, user networking. */
export function testOptions(lv: TestLibvirtd, overrides: Partial<LibvirtDriverOptions> = {}): LibvirtDriverOptions {
  return {
    virtType: testVirtType(), connectionUri: lv.uri, instancesPath: join(lv.dir, 'instances'), cacheSubdirectory: '_base',
    bridge: 'polyvisor-no-such-bridge', vncEnabled: true, vncListen: '127.0.0.1', vncProxyclientAddress: '127.0.0.1',
    cpuMode: null, waitSoftRebootSeconds: 30, host: 'kvm-test-host', myIp: '127.0.0.1', removeUnusedBaseImages: true, removeUnusedMinimumAgeSeconds: 86400,
    ...overrides,
  };
}
