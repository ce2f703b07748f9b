import { InvalidInputError } from '../../errors.js';
import type { ManagedObjectReference } from '../types/moref.js';
import { vim25 } from '../types/schema.js';
import type { MethodFault } from '../types/task.js';
import { createVimFault, type FaultContext, type VimFault } from './fault.js';
import { VsphereTransportError } from './errors.js';
import { encodeFields, escapeXml } from './xml-encode.js';
import { childrenOf, decodeElement, elementsOf, parseXml, tagOf, textOf, type XmlNode } from './xml-decode.js';

const ENVELOPE_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"' +
  ' xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">';

/** A request envelope: the operationID header (what vCenter logs as opID) and the method element. */
export function buildEnvelope(
  method: string,
  target: ManagedObjectReference,
  params: Readonly<Record<string, unknown>>,
  opId: string | undefined,
): string {
  if (!vim25().has(method)) throw new InvalidInputError(`unknown vSphere method ${method}`);
  const header = opId === undefined ? '' : `<soapenv:Header><operationID>${escapeXml(opId)}</operationID></soapenv:Header>`;
  const body = encodeFields(method, { _this: target, ...params }, method);
  return `${ENVELOPE_OPEN}${header}<soapenv:Body><${method} xmlns="urn:vim25">${body}</${method}></soapenv:Body></soapenv:Envelope>`;
}

/**
 * Parses a response envelope: the decoded `returnval` (an array when the method returns
 * many), or throws the typed fault it carries.
 */
export function parseEnvelope(xml: string, method: string, context: FaultContext): unknown {
  let doc: XmlNode[];
  try {
    doc = parseXml(xml);
  } catch (err) {
    throw new VsphereTransportError(`malformed SOAP response to ${method}`, { cause: err, retryable: false, sent: true });
  }
  const envelope = doc.find((n) => tagOf(n) === 'Envelope');
  const body = envelope === undefined ? undefined : elementsOf(envelope).find((n) => tagOf(n) === 'Body');
  const first = body === undefined ? undefined : elementsOf(body)[0];
  if (first === undefined) {
    throw new VsphereTransportError(`SOAP response to ${method} has no body`, { retryable: false, sent: true });
  }
  if (tagOf(first) === 'Fault') throw parseFault(first, context);
  const ret = vim25().field(`${method}Response`, 'returnval');
  if (ret === undefined) return undefined;
  const values = childrenOf(first).filter((n) => tagOf(n) === 'returnval').map((n) => decodeElement(n, ret.type));
  return ret.array ? values : values[0];
}

function parseFault(node: XmlNode, context: FaultContext): VimFault {
  const kids = elementsOf(node);
  const message = textOf(kids.find((n) => tagOf(n) === 'faultstring') ?? {});
  const detail = kids.find((n) => tagOf(n) === 'detail');
  const inner = detail === undefined ? undefined : elementsOf(detail)[0];
  let fault: MethodFault = { _type: 'MethodFault' };
  if (inner !== undefined) {
    const tag = tagOf(inner) ?? 'MethodFault';
    const decoded = decodeElement(inner, tag.endsWith('Fault') && tag !== 'MethodFault' ? tag.slice(0, -5) : tag);
    if (typeof decoded === 'object' && decoded !== null && '_type' in decoded) fault = decoded as MethodFault;
  }
  return createVimFault(fault, message, context);
}
