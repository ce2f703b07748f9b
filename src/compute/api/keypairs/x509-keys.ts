import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InvalidInputError } from '../../../errors.js';

/**
 * x509 key pairs (microversion 2.2): a PEM certificate, fingerprinted as Nova does
 * (SHA-1 of the DER certificate, lower-case hex pairs joined by ':'), and generated as
 * Nova's generate_winrm_x509_cert does: openssl makes an RSA 2048 key and a self-signed
 * client certificate for CN=<user id>, valid ten years.
 */
export function parseCertificate(pem: string): { text: string; fingerprint: string } {
  const text = pem.trim();
  if (!text.startsWith('-----BEGIN CERTIFICATE-----')) throw invalid('not a PEM certificate');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(text);
  } catch (err) {
    throw invalid(err instanceof Error ? err.message : String(err));
  }
  return { text, fingerprint: cert.fingerprint.toLowerCase() };
}

function invalid(why: string): InvalidInputError {
  return new InvalidInputError(`Keypair data is invalid: failed to generate X509 fingerprint. Error message: ${why}`);
}

const run = promisify(execFile);

/** Nova's openssl configuration for the WinRM client certificate (extended key usage: client auth). */
const OPENSSL_CONF = `distinguished_name = req_distinguished_name
[req_distinguished_name]
[v3_req_client]
extendedKeyUsage = clientAuth
subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:%s@localhost
`;

export async function generateCertificate(userId: string, signal?: AbortSignal): Promise<{ privateKey: string; certificate: string; fingerprint: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'polyvisor-x509-'));
  try {
    const conf = join(dir, 'openssl.conf');
    await writeFile(conf, OPENSSL_CONF.replace('%s', userId.replace(/[^A-Za-z0-9._-]/g, '')), { mode: 0o600 });
    const key = join(dir, 'key.pem');
    const crt = join(dir, 'cert.pem');
    await run(
      'openssl',
      ['req', '-x509', '-nodes', '-days', '3650', '-config', conf, '-newkey', 'rsa:2048', '-outform', 'PEM', '-keyout', key, '-subj', `/CN=${userId.replace(/[/=+]/g, '')}`, '-extensions', 'v3_req_client', '-out', crt],
      { timeout: 30_000, ...(signal ? { signal } : {}) },
    );
    const [privateKey, certificate] = await Promise.all([readFile(key, 'utf8'), readFile(crt, 'utf8')]);
    return { privateKey, certificate, fingerprint: parseCertificate(certificate).fingerprint };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
