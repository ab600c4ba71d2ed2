/**
 * Throw-away X.509 certificates for TLS tests, made with node-forge: a certificate authority
 * that issues server and client certificates. Nothing here is fit for production use.
 */
import { randomBytes } from 'node:crypto';
import forge from 'node-forge';

/** A certificate and its private key, both PEM. */
export interface KeyPair {
  readonly certPem: string;
  readonly keyPem: string;
}

/** What an issued certificate is for. */
export interface IssueOptions {
  readonly commonName: string;
  /** DNS subject alternative names (server certificates). */
  readonly dnsNames?: readonly string[];
  /** IP subject alternative names (server certificates). */
  readonly ipAddresses?: readonly string[];
  /** `server` (serverAuth) or `client` (clientAuth). */
  readonly purpose: 'server' | 'client';
}

/** A self-signed root that signs leaf certificates. */
export interface CertificateAuthority extends KeyPair {
  issue(options: IssueOptions): KeyPair;
}

const ONE_DAY_MS = 24 * 60 * 60 * 1000;

/** Creates a new self-signed root certificate authority with a fresh RSA key. */
export function createCertificateAuthority(commonName: string): CertificateAuthority {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const subject = [{ name: 'commonName', value: commonName }];
  const cert = newCertificate(keys.publicKey, subject, subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  const issuerKeyId = cert.generateSubjectKeyIdentifier().getBytes();
  return {
    certPem: forge.pki.certificateToPem(cert),
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
    issue: (options) => issue(options, subject, keys.privateKey, issuerKeyId),
  };
}

function issue(options: IssueOptions, issuer: forge.pki.CertificateField[], issuerKey: forge.pki.rsa.PrivateKey, issuerKeyId: string): KeyPair {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = newCertificate(keys.publicKey, [{ name: 'commonName', value: options.commonName }], issuer);
  const altNames = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(options.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: options.purpose === 'server', clientAuth: options.purpose === 'client' },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: issuerKeyId },
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
  ]);
  cert.sign(issuerKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

function newCertificate(
  publicKey: forge.pki.rsa.PublicKey,
  subject: forge.pki.CertificateField[],
  issuer: forge.pki.CertificateField[],
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // A positive serial number: the first byte's high bit is clear.
  cert.serialNumber = `0${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - ONE_DAY_MS);
  cert.validity.notAfter = new Date(Date.now() + ONE_DAY_MS);
  cert.setSubject(subject);
  cert.setIssuer(issuer);
  return cert;
}
