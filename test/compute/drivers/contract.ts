import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { DriverError, UnsupportedOperationError, type ComputeDriver, type ImageSource, type InstanceRef, type InstanceSpec } from '../../../src/compute/drivers/driver.js';
import { PowerState } from '../../../src/compute/states.js';

/** What a driver's test file provides to the contract suite. */
export interface ContractSetup {
  /** A driver, not yet initialised, and whatever must be stopped afterwards. */
  start(): Promise<{ driver: ComputeDriver; stop(): Promise<void> }>;
  /** An image this driver boots (its properties and disk format). */
  image(): ImageSource;
  /** False for a driver that never reads image bits (the fake one): the unreadable-image case does not apply to it. */
  readonly readsImages?: boolean;
}

function spec(node: string): InstanceSpec {
  return {
    uuid: randomUUID(), node, driverInfo: {}, name: 'contract', hostname: 'contract', projectId: 'contract-project', userId: 'contract-user',
    flavor: { id: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 256, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} },
    metadata: {}, keyData: null, userData: null, networks: 'auto',
  };
}

/** An image whose bits cannot be read: the spawn must fail and leave nothing. */
export function unreadable(image: ImageSource): ImageSource {
  return { ...image, id: randomUUID(), open: () => Promise.reject(new Error('image service unavailable')) };
}

/** A raw image of `bytes` zero bytes (for drivers that boot raw). */
export function rawImage(bytes: number, properties: Record<string, string> = {}): ImageSource {
  return {
    id: randomUUID(), name: 'contract', diskFormat: 'raw', containerFormat: 'bare', size: bytes, virtualSize: bytes, properties,
    open: (_f, signal) => {
      signal.throwIfAborted();
      return Promise.resolve(Readable.from([Buffer.alloc(bytes)]));
    },
  };
}

/**
 * The compute-driver contract (nova/virt/driver.py's, one sentence each in driver.ts),
 * one suite for every driver: spawn leaves a running instance or nothing; destroy succeeds
 * when the instance is gone; power operations are idempotent; unsupported operations fail
 * with UnsupportedOperationError; power sync sees every instance in one bulk call.
 */
export function driverContract(name: string, setup: ContractSetup): void {
  describe(`compute driver contract: ${name}`, () => {
    let driver: ComputeDriver;
    let started: Awaited<ReturnType<ContractSetup['start']>>;
    let node: string;
    let ref: InstanceRef;
    const t = (): AbortSignal => AbortSignal.timeout(60_000);

    before(async () => {
      started = await setup.start();
      driver = started.driver;
      await driver.init(t());
    });
    after(async () => {
      await driver.close();
      await started.stop();
    });

    it('reports nodes with resources', async () => {
      const nodes = await driver.listNodes(t());
      assert.ok(nodes.length > 0);
      for (const n of nodes) {
        assert.equal(n.hypervisorType, driver.type);
        assert.ok(n.vcpus > 0 && n.memoryMb > 0 && n.localGb >= 0, JSON.stringify(n));
      }
      node = nodes[0]?.nodename ?? '';
    });

    it('spawn leaves a running instance that power sync sees', async () => {
      const s = spec(node);
      const { driverInfo } = await driver.spawn(s, setup.image(), t());
      ref = { uuid: s.uuid, node, driverInfo };
      assert.deepEqual(await driver.getInstanceState(ref, t()), { exists: true, powerState: PowerState.RUNNING });
      assert.equal((await driver.listInstanceStates(t())).get(s.uuid)?.powerState, PowerState.RUNNING);
    });

    if (setup.readsImages !== false) it('a failed spawn throws a DriverError and leaves nothing', async () => {
      const s = spec(node);
      await assert.rejects(driver.spawn(s, unreadable(setup.image()), t()), (e: unknown) => e instanceof DriverError);
      assert.equal((await driver.getInstanceState({ uuid: s.uuid, node, driverInfo: {} }, t())).exists, false);
      assert.equal((await driver.listInstanceStates(t())).has(s.uuid), false);
    });

    it('power off and on are idempotent', async () => {
      await driver.powerOff(ref, { timeoutSeconds: 0 }, t());
      await driver.powerOff(ref, { timeoutSeconds: 0 }, t());
      assert.equal((await driver.getInstanceState(ref, t())).powerState, PowerState.SHUTDOWN);
      await driver.powerOn(ref, t());
      await driver.powerOn(ref, t());
      assert.equal((await driver.getInstanceState(ref, t())).powerState, PowerState.RUNNING);
    });

    it('soft and hard reboots leave the instance running', async () => {
      await driver.reboot(ref, 'SOFT', t());
      await driver.reboot(ref, 'HARD', t());
      assert.equal((await driver.getInstanceState(ref, t())).powerState, PowerState.RUNNING);
    });

    it('suspend and resume (when supported), pause only when supported', async () => {
      if (driver.capabilities.supportsSuspend) {
        await driver.suspend(ref, t());
        assert.equal((await driver.getInstanceState(ref, t())).powerState, PowerState.SUSPENDED);
        await driver.resume(ref, t());
        assert.equal((await driver.getInstanceState(ref, t())).powerState, PowerState.RUNNING);
      }
      if (!driver.capabilities.supportsPause && driver.pause !== undefined) {
        await assert.rejects(driver.pause(ref, t()), (e: unknown) => e instanceof UnsupportedOperationError);
      }
    });

    it('destroy removes the instance and succeeds when it is already gone', async () => {
      await driver.destroy(ref, t());
      assert.deepEqual(await driver.getInstanceState(ref, t()), { exists: false, powerState: PowerState.NOSTATE });
      await driver.destroy(ref, t());
      assert.equal((await driver.listInstanceStates(t())).has(ref.uuid), false);
    });
  });
}
