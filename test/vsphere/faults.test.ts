import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  asFault, Client, DuplicateNameFault, FileAlreadyExistsFault, FileNotFoundFault, InvalidArgumentFault, InvalidLoginFault,
  InvalidPowerStateFault, InvalidStateFault, isFault, ManagedObjectNotFoundFault, methods, moref, NoPermissionFault,
  NotAuthenticatedFault, TaskInProgressFault, VimFault,
} from '../../src/vsphere/index.js';
import { HttpTransport } from '../../src/vsphere/soap/http-transport.js';
import { smallVmSpec } from './vm-spec.js';
import { startTestVcsim, type TestVcsim } from './vcsim-harness.js';

/** The error a promise rejects with (the test fails if it resolves). */
async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected a fault');
}

describe('vim faults from vcsim come back typed', () => {
  let sim: TestVcsim;
  let client: Client;
  let dcRef: ReturnType<typeof moref>;
  before(async () => {
    sim = await startTestVcsim({});
    client = await Client.connect({ url: sim.url, username: sim.username, password: sim.password, caFile: sim.caFile ?? '', retryCount: 1, retryBaseDelayMs: 1 });
    const [dc] = (await client.inventory()).byType('Datacenter');
    assert.ok(dc);
    dcRef = dc.ref;
  });
  after(async () => {
    await client.close();
    await sim.stop();
  });

  it('NotAuthenticated: a call without a session', async () => {
    const bare = new HttpTransport({ url: sim.url, ...(sim.caFile === undefined ? {} : { ca: await import('node:fs/promises').then((fs) => fs.readFile(sim.caFile ?? '', 'utf8')) }) });
    try {
      const err = await failure(methods.currentTime(bare));
      assert.ok(err instanceof NotAuthenticatedFault && err instanceof NoPermissionFault && isFault(err, 'NotAuthenticated'));
    } finally {
      bare.close();
    }
  });

  it('InvalidLogin: a wrong password', async () => {
    const err = await failure(Client.connect({ url: sim.url, username: sim.username, password: 'nope', caFile: sim.caFile ?? '' }));
    assert.ok(err instanceof InvalidLoginFault && isFault(err, 'InvalidLogin'));
  });

  it('NoPermission (fault injection), with its fields', async () => {
    await sim.injectFault('CreateFolder', 'NoPermission', { message: 'Permission to perform this operation was denied.', fields: { Object: { Type: 'Folder', Value: 'group-d1' }, PrivilegeId: 'Folder.Create' } });
    const err = await failure(client.rootFolder().createFolder('denied'));
    assert.ok(err instanceof NoPermissionFault && !(err instanceof NotAuthenticatedFault));
    assert.equal(err.fault['privilegeId'], 'Folder.Create');
    assert.deepEqual(err.fault['object'], { type: 'Folder', value: 'group-d1' });
    assert.match(err.message, /Permission to perform this operation was denied/);
  });

  it('FileAlreadyExists and FileNotFound: FileManager on a real datastore directory', async () => {
    const fm = client.fileManager();
    await fm.makeDirectory('[LocalDS_0] faults-dir', dcRef, { createParents: false });
    const exists = await failure(fm.makeDirectory('[LocalDS_0] faults-dir', dcRef, { createParents: false }));
    assert.ok(exists instanceof FileAlreadyExistsFault && isFault(exists, 'FileFault'));
    const missing = await failure(fm.deleteFile('[LocalDS_0] no-such-file.vmdk', dcRef));
    assert.ok(missing instanceof FileNotFoundFault && asFault(missing, 'FileFault') === missing);
  });

  it('DuplicateName: a folder created twice', async () => {
    await client.rootFolder().createFolder('twice');
    const err = await failure(client.rootFolder().createFolder('twice'));
    assert.ok(err instanceof DuplicateNameFault);
    assert.equal(err.fault['name'], 'twice');
  });

  it('InvalidState: powering on a template; InvalidPowerState: powering off a VM that is off (a task error)', async () => {
    const dc = client.datacenter(dcRef);
    const { vmFolder } = await dc.folders();
    const [cluster] = (await client.inventory()).byType('ClusterComputeResource');
    assert.ok(cluster);
    const pool = await client.cluster(cluster.ref).resourcePool();
    const vm = await vmFolder.createVM(smallVmSpec('fault-vm', 'LocalDS_0'), pool.ref);
    const off = await failure(vm.powerOff());
    assert.ok(off instanceof InvalidPowerStateFault && off instanceof InvalidStateFault);
    assert.equal(off.fault['existingState'], 'poweredOff');
    await vm.markAsTemplate();
    const template = await failure(vm.powerOn());
    assert.ok(template instanceof InvalidStateFault && !(template instanceof InvalidPowerStateFault));
    assert.equal(template.faultType, 'InvalidState');
  });

  it('TaskInProgress (fault injection)', async () => {
    const [vm] = (await client.inventory({ vms: true })).byType('VirtualMachine');
    assert.ok(vm);
    await sim.injectFault('PowerOffVM_Task', 'TaskInProgress', { message: 'The operation is not allowed in the current state.', fields: { Task: { Type: 'Task', Value: 'task-1' } } });
    const err = await failure(client.vm(vm.ref).powerOff());
    assert.ok(err instanceof TaskInProgressFault);
    assert.deepEqual(err.fault['task'], { type: 'Task', value: 'task-1' });
  });

  it('ManagedObjectNotFound: a reference that does not exist', async () => {
    const err = await failure(client.vm(moref('VirtualMachine', 'vm-does-not-exist')).powerOn());
    assert.ok(err instanceof ManagedObjectNotFoundFault);
    assert.deepEqual(err.fault['obj'], { type: 'VirtualMachine', value: 'vm-does-not-exist' });
    assert.match(err.message, /PowerOnVM_Task on VirtualMachine:vm-does-not-exist/);
  });

  it('InvalidArgument: terminating our own session', async () => {
    const err = await failure(client.terminateSessions([client.session.userSession?.key ?? '']));
    assert.ok(err instanceof InvalidArgumentFault);
  });

  it('any other fault: a generic VimFault carrying the type and message', async () => {
    const missing = await failure(methods.invoke(client.rt, 'CancelRetrievePropertiesEx', client.pc.ref, { token: 'x' }, 'idempotent'));
    assert.ok(missing instanceof VimFault && isFault(missing, 'MethodNotFound'));
    await sim.injectFault('CreateFolder', 'VmConfigFault', { message: 'something odd' });
    const odd = await failure(client.rootFolder().createFolder('odd'));
    assert.ok(odd instanceof VimFault);
    assert.equal(Object.getPrototypeOf(odd), VimFault.prototype);
    assert.equal(odd.faultType, 'VmConfigFault');
    assert.equal(odd.code, 'vim.VmConfigFault');
    assert.match(odd.message, /VmConfigFault: something odd \(CreateFolder on Folder:group-d1\)/);
    assert.ok(isFault(odd, 'VimFault') && !isFault(odd, 'InvalidState'));
  });

  it('a transient fault on an idempotent call is retried; on a non-idempotent call it is not', async () => {
    client.counter.reset();
    await sim.injectFault('CurrentTime', 'HostCommunication', { count: 1 });
    assert.ok((await client.currentTime()) instanceof Date);
    assert.equal(client.counter.count('CurrentTime'), 2);
    await sim.injectFault('CreateFolder', 'HostCommunication', { count: 1 });
    const err = await failure(client.rootFolder().createFolder('not-twice'));
    assert.ok(isFault(err, 'HostCommunication'));
    assert.equal(client.counter.count('CreateFolder'), 1);
  });
});
