import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildEnvelope, parseEnvelope } from '../../src/vsphere/soap/envelope.js';
import { encodeElement } from '../../src/vsphere/soap/xml-encode.js';
import { RetryRoundTripper } from '../../src/vsphere/soap/retry.js';
import { OpIdRoundTripper, withRequestId } from '../../src/vsphere/soap/op-id.js';
import { VsphereTransportError } from '../../src/vsphere/soap/errors.js';
import {
  asFault, isFault, InvalidPowerStateFault, InvalidStateFault, NotAuthenticatedFault, NoPermissionFault, VimFault,
} from '../../src/vsphere/soap/fault.js';
import type { RoundTripper, SoapCall } from '../../src/vsphere/soap/round-tripper.js';
import { PropertyCollector } from '../../src/vsphere/property/collector.js';
import { moref, type RetrieveResult } from '../../src/vsphere/types/index.js';
import { silentLogger } from '../../src/log.js';

const env = (body: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;

describe('vim25 codec', () => {
  it('encodes fields in schema order with xsi:type where the declared type is a base type, and an opID header', () => {
    const xml = buildEnvelope('ReconfigVM_Task', moref('VirtualMachine', 'vm-1'), {
      spec: {
        // deliberately out of schema order
        memoryMB: 512,
        deviceChange: [{ device: { _type: 'VirtualDisk', key: -1, capacityInKB: 1024, controllerKey: 1000 }, operation: 'add' }],
        name: 'a&b',
      },
    }, 'polyvisor-x');
    assert.match(xml, /<soapenv:Header><operationID>polyvisor-x<\/operationID><\/soapenv:Header>/);
    assert.match(xml, /<_this type="VirtualMachine">vm-1<\/_this><spec><name>a&amp;b<\/name><memoryMB>512<\/memoryMB><deviceChange><operation>add<\/operation><device xsi:type="VirtualDisk"><key>-1<\/key><controllerKey>1000<\/controllerKey><capacityInKB>1024<\/capacityInKB><\/device><\/deviceChange><\/spec>/);
  });

  it('refuses a field the schema does not know, and a subtype that is not one', () => {
    assert.throws(() => encodeElement('spec', 'VirtualMachineConfigSpec', { memoryMb: 1 }), /has no field "memoryMb"/);
    assert.throws(() => encodeElement('device', 'VirtualDevice', { _type: 'TaskInfo' }), /not a VirtualDevice/);
  });

  it('decodes repeated fields as arrays even with one element, numbers, dates, references and ArrayOf in anyType', () => {
    const xml = env(`<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="HostSystem">host-1</obj>
<propSet><name>summary.hardware</name><val xsi:type="HostHardwareSummary"><memorySize>4294967296</memorySize><numCpuCores>2</numCpuCores></val></propSet>
<propSet><name>datastore</name><val xsi:type="ArrayOfManagedObjectReference"><ManagedObjectReference type="Datastore">ds-1</ManagedObjectReference></val></propSet>
<propSet><name>runtime.bootTime</name><val xsi:type="xsd:dateTime">2024-01-02T03:04:05.678Z</val></propSet>
<propSet><name>runtime.inMaintenanceMode</name><val xsi:type="xsd:boolean">false</val></propSet>
</objects></returnval></RetrievePropertiesExResponse>`);
    const r = parseEnvelope(xml, 'RetrievePropertiesEx', {}) as RetrieveResult;
    assert.equal(r.objects?.length, 1);
    const props = Object.fromEntries((r.objects?.[0]?.propSet ?? []).map((p) => [p.name, p.val]));
    assert.deepEqual(props['summary.hardware'], { _type: 'HostHardwareSummary', memorySize: 4294967296, numCpuCores: 2 });
    assert.deepEqual(props['datastore'], [{ type: 'Datastore', value: 'ds-1' }]);
    assert.deepEqual(props['runtime.bootTime'], new Date('2024-01-02T03:04:05.678Z'));
    assert.equal(props['runtime.inMaintenanceMode'], false);
  });

  it('parses a SOAP fault into the most specific typed error, with is/as following vim25 inheritance', () => {
    const xml = env(`<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>already off</faultstring><detail><InvalidPowerStateFault xmlns="urn:vim25" xsi:type="InvalidPowerState"><requestedState>poweredOff</requestedState><existingState>poweredOff</existingState></InvalidPowerStateFault></detail></soapenv:Fault>`);
    const err = (() => {
      try {
        parseEnvelope(xml, 'PowerOffVM_Task', { method: 'PowerOffVM_Task', target: 'VirtualMachine:vm-1', opId: 'polyvisor-1' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof InvalidPowerStateFault);
    assert.ok(err instanceof InvalidStateFault);
    assert.equal(err.faultType, 'InvalidPowerState');
    assert.equal(err.fault['existingState'], 'poweredOff');
    assert.equal(err.code, 'vim.InvalidPowerState');
    assert.match(err.message, /already off.*PowerOffVM_Task on VirtualMachine:vm-1/);
    assert.ok(isFault(err, 'InvalidState') && isFault(err, 'VimFault') && !isFault(err, 'NoPermission'));
    assert.equal(asFault(err, 'InvalidPowerState'), err);
    assert.equal(asFault(err, 'FileFault'), undefined);
    assert.equal(asFault(new Error('x'), 'InvalidState'), undefined);
  });

  it('maps NotAuthenticated under NoPermission, and unknown fault types to a generic VimFault', () => {
    const na = env(`<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring></faultstring><detail><NotAuthenticatedFault xmlns="urn:vim25" xsi:type="NotAuthenticated"><object type="Folder">group-d1</object><privilegeId>System.View</privilegeId></NotAuthenticatedFault></detail></soapenv:Fault>`);
    assert.throws(() => parseEnvelope(na, 'CurrentTime', {}), (e: unknown) => e instanceof NotAuthenticatedFault && e instanceof NoPermissionFault);
    const odd = env(`<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>odd</faultstring><detail><BrandNewFault xmlns="urn:vim25" xsi:type="BrandNew"><x>1</x></BrandNewFault></detail></soapenv:Fault>`);
    assert.throws(() => parseEnvelope(odd, 'CurrentTime', {}), (e: unknown) => e instanceof VimFault && e.faultType === 'BrandNew' && /odd/.test(e.message));
  });
});

/** A scripted peer: answers each call from a function and records it. */
class Script implements RoundTripper {
  readonly calls: SoapCall[] = [];
  constructor(private readonly answer: (call: SoapCall, n: number) => unknown) {}
  async roundTrip(call: SoapCall): Promise<unknown> {
    this.calls.push(call);
    const v = this.answer(call, this.calls.length);
    if (v instanceof Error) throw v;
    return v;
  }
}

describe('decorators', () => {
  it('pages RetrievePropertiesEx with ContinueRetrievePropertiesEx until no token is left', async () => {
    const page = (n: number, token?: string): RetrieveResult => ({ ...(token === undefined ? {} : { token }), objects: [{ obj: moref('VirtualMachine', `vm-${n}`) }] });
    const script = new Script((call) =>
      call.method === 'RetrievePropertiesEx' ? page(1, 't1') : call.params['token'] === 't1' ? page(2, 't2') : page(3));
    const pc = new PropertyCollector(script, moref('PropertyCollector', 'propertyCollector'));
    const all = await pc.retrieve([{ propSet: [{ type: 'VirtualMachine', pathSet: ['name'] }], objectSet: [] }], { maxObjects: 1 });
    assert.deepEqual(all.map((o) => o.obj.value), ['vm-1', 'vm-2', 'vm-3']);
    assert.deepEqual(script.calls.map((c) => c.method), ['RetrievePropertiesEx', 'ContinueRetrievePropertiesEx', 'ContinueRetrievePropertiesEx']);
    assert.deepEqual(script.calls[0]?.params['options'], { maxObjects: 1 });
  });

  it('retries transient failures of idempotent calls with backoff, but not a non-idempotent call that may have been sent', async () => {
    const reset = (): VsphereTransportError => new VsphereTransportError('reset', { retryable: true, sent: true });
    const flaky = new Script((_c, n) => (n < 3 ? reset() : 'ok'));
    const rt = new RetryRoundTripper(flaky, { retryCount: 5, baseDelayMs: 1 }, silentLogger);
    assert.equal(await rt.roundTrip({ method: 'CurrentTime', this: moref('ServiceInstance', 'ServiceInstance'), params: {}, idempotent: true }), 'ok');
    assert.equal(flaky.calls.length, 3);

    const once = new Script(() => reset());
    const rt2 = new RetryRoundTripper(once, { retryCount: 5, baseDelayMs: 1 }, silentLogger);
    await assert.rejects(rt2.roundTrip({ method: 'CreateVM_Task', this: moref('Folder', 'f'), params: {}, idempotent: false }), VsphereTransportError);
    assert.equal(once.calls.length, 1);

    const refused = new Script((_c, n) => (n < 2 ? new VsphereTransportError('refused', { retryable: true, sent: false }) : 'ok'));
    const rt3 = new RetryRoundTripper(refused, { retryCount: 5, baseDelayMs: 1 }, silentLogger);
    assert.equal(await rt3.roundTrip({ method: 'CreateVM_Task', this: moref('Folder', 'f'), params: {}, idempotent: false }), 'ok');
    assert.equal(refused.calls.length, 2, 'a refused connection never reached the server: safe to send again');

    const capped = new Script(() => reset());
    const rt4 = new RetryRoundTripper(capped, { retryCount: 2, baseDelayMs: 1 }, silentLogger);
    await assert.rejects(rt4.roundTrip({ method: 'CurrentTime', this: moref('ServiceInstance', 'ServiceInstance'), params: {}, idempotent: true }));
    assert.equal(capped.calls.length, 3, 'api_retry_count retries after the first attempt');
  });

  it('stamps polyvisor-<uuid> opIDs, tied to the API request id in context', async () => {
    const script = new Script(() => undefined);
    const rt = new OpIdRoundTripper(script);
    const call = { method: 'CurrentTime', this: moref('ServiceInstance', 'ServiceInstance'), params: {}, idempotent: true };
    await rt.roundTrip(call);
    await withRequestId('req-1234', () => rt.roundTrip(call));
    await rt.roundTrip({ ...call, opId: 'mine' });
    const ids = script.calls.map((c) => c.opId ?? '');
    assert.match(ids[0] ?? '', /^polyvisor-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.match(ids[1] ?? '', /^polyvisor-[0-9a-f-]{36}-req-1234$/);
    assert.equal(ids[2], 'mine');
  });
});

describe('vim25 codec: character references', () => {
  it('decodes &#xA; (how Go encodes a newline), decimal references and named entities in one pass', async () => {
    const { decodeEntities } = await import('../../src/vsphere/soap/xml-decode.js');
    assert.equal(decodeEntities('name:web-1&#xA;projectid:p&#10;x &lt;a&gt; &amp;#xA; &quot;q&apos;'), 'name:web-1\nprojectid:p\nx <a> &#xA; "q\'');
  });
});
