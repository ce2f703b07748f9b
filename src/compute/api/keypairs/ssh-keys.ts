import { createHash, generateKeyPairSync } from 'node:crypto';
import { InvalidInputError } from '../../../errors.js';

/**
 * OpenSSH public keys: parsing (so that a bad key is refused at import, not at boot),
 * Nova's MD5 fingerprint, and generation of an RSA 2048 pair for `keypair create`.
 */
export interface PublicKey {
  readonly type: string;
  readonly blob: Buffer;
  /** The key as stored and shown: `<type> <base64> [comment]`, trimmed. */
  readonly text: string;
}

const EC_POINT_LENGTH: Readonly<Record<string, number>> = { nistp256: 65, nistp384: 97, nistp521: 133 };

function invalid(): InvalidInputError {
  return new InvalidInputError('Keypair data is invalid: failed to generate fingerprint');
}

/** Reads the SSH wire format's length-prefixed strings. */
class WireReader {
  #offset = 0;
  constructor(private readonly buf: Buffer) {}
  string(): Buffer {
    if (this.#offset + 4 > this.buf.length) throw invalid();
    const len = this.buf.readUInt32BE(this.#offset);
    this.#offset += 4;
    if (len > this.buf.length - this.#offset) throw invalid();
    const out = this.buf.subarray(this.#offset, this.#offset + len);
    this.#offset += len;
    return out;
  }
  get done(): boolean {
    return this.#offset === this.buf.length;
  }
}

export function parsePublicKey(text: string): PublicKey {
  const trimmed = text.trim();
  const [type, b64] = trimmed.split(/\s+/, 3);
  if (type === undefined || b64 === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw invalid();
  const blob = Buffer.from(b64, 'base64');
  const r = new WireReader(blob);
  if (r.string().toString('latin1') !== type) throw invalid();
  if (type === 'ssh-rsa') {
    const e = r.string();
    const n = r.string();
    if (e.length === 0 || n.length < 64) throw invalid();
  } else if (type === 'ssh-ed25519') {
    if (r.string().length !== 32) throw invalid();
  } else if (type.startsWith('ecdsa-sha2-')) {
    const curve = r.string().toString('latin1');
    const expected = EC_POINT_LENGTH[curve];
    if (curve !== type.slice('ecdsa-sha2-'.length) || expected === undefined) throw invalid();
    const q = r.string();
    if (q.length !== expected || q[0] !== 4) throw invalid();
  } else {
    throw invalid();
  }
  if (!r.done) throw invalid();
  return { type, blob, text: trimmed };
}

/** Nova's fingerprint: MD5 of the key blob, as colon-separated hex pairs. */
export function fingerprintOf(blob: Buffer): string {
  return (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':');
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** An SSH mpint: big-endian, with a leading zero byte when the top bit is set. */
function mpint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return sshString((v[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

export interface GeneratedKeypair {
  readonly privateKey: string;
  readonly publicKey: string;
  readonly fingerprint: string;
}

/** An RSA 2048 key pair: the private key as PEM (PKCS#1, as Nova returns it), the public key in OpenSSH form. */
export function generateKeypair(): GeneratedKeypair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.n === undefined || jwk.e === undefined) throw new Error('RSA public key without modulus or exponent');
  const blob = Buffer.concat([sshString(Buffer.from('ssh-rsa')), mpint(Buffer.from(jwk.e, 'base64url')), mpint(Buffer.from(jwk.n, 'base64url'))]);
  return { privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), publicKey: `ssh-rsa ${blob.toString('base64')} Generated-by-Nova`, fingerprint: fingerprintOf(blob) };
}
