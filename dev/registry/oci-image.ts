/**
 * Real OCI images without Docker: a layer is a gzipped tar we write ourselves, the
 * image config and manifest are JSON, and everything is pushed through the registry's
 * HTTP API the way `docker push` does it. The local cluster builds its pause and
 * busybox images with this, and tests build the small images they run on the real node.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** One entry of a layer. Paths are relative to the image root ("bin/sh", not "/bin/sh"). */
export type TarEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; content: Buffer | string; mode?: number }
  | { type: 'symlink'; path: string; target: string };

/** What the image runs, as in the OCI image config's `config` object. */
export interface ImageRunConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
}

export function sha256Digest(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * A POSIX ustar archive. Names up to 255 bytes (split into prefix and name at a
 * slash), owned by root, with a fixed modification time so the same entries always
 * give the same bytes (and so the same digest).
 */
export function tarArchive(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.type === 'file' ? Buffer.from(entry.content) : Buffer.alloc(0);
    blocks.push(tarHeader(entry, data.length));
    if (data.length) {
      blocks.push(data);
      blocks.push(Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const TAR_MTIME = Math.floor(Date.UTC(2026, 0, 1) / 1000);

function tarHeader(entry: TarEntry, size: number): Buffer {
  const header = Buffer.alloc(512);
  const path = entry.type === 'dir' ? `${entry.path.replace(/\/$/, '')}/` : entry.path;
  let name = path;
  let prefix = '';
  if (Buffer.byteLength(path) > 100) {
    const cut = path.lastIndexOf('/', path.length - 2);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
    if (cut <= 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`tar: path too long: ${path}`);
  }
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'utf8');
  const octal = (value: number, length: number) => `${value.toString(8).padStart(length - 1, '0')}\0`;
  const mode = entry.type === 'symlink' ? 0o777 : (entry.mode ?? (entry.type === 'dir' ? 0o755 : 0o644));
  field(0, 100, name);
  field(100, 8, octal(mode, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(size, 12));
  field(136, 12, octal(TAR_MTIME, 12));
  field(148, 8, '        '); // the checksum is computed with its own field as spaces
  field(156, 1, entry.type === 'dir' ? '5' : entry.type === 'symlink' ? '2' : '0');
  if (entry.type === 'symlink') field(157, 100, entry.target);
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  field(265, 32, 'root');
  field(297, 32, 'root');
  field(345, 155, prefix);
  let checksum = 0;
  for (const byte of header) checksum += byte;
  field(148, 8, `${checksum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

/** An image ready to push: its blobs by digest and its manifest. */
export interface BuiltImage {
  blobs: Buffer[];
  manifest: Buffer;
  /** Digest of the manifest: what a pulled image's imageID ends with. */
  digest: string;
}

/** Builds a linux/amd64 (or other) image from layers (first is the bottom one) and a run config. */
export function buildImage(layers: TarEntry[][], config: ImageRunConfig, architecture = 'amd64'): BuiltImage {
  const tars = layers.map(tarArchive);
  const gzipped = tars.map((t) => gzipSync(t));
  const configBlob = Buffer.from(
    JSON.stringify({
      architecture,
      os: 'linux',
      config,
      rootfs: { type: 'layers', diff_ids: tars.map(sha256Digest) },
      history: tars.map(() => ({ created: '2026-01-01T00:00:00Z', created_by: 'vkube dev/registry/oci-image.ts' })),
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: sha256Digest(configBlob), size: configBlob.length },
      layers: gzipped.map((g) => ({ mediaType: OCI_LAYER, digest: sha256Digest(g), size: g.length })),
    }),
  );
  return { blobs: [configBlob, ...gzipped], manifest, digest: sha256Digest(manifest) };
}

/** Pushes a built image under `repository:tag`; returns the manifest digest the registry reports. */
export async function pushBuiltImage(baseUrl: string, repository: string, tag: string, image: BuiltImage, authorization?: string): Promise<string> {
  const api = new RegistryApi(baseUrl, repository, authorization);
  for (const blob of image.blobs) await api.uploadBlob(blob);
  return api.putManifest(tag, OCI_MANIFEST, image.manifest);
}

/** The registry's push API for one repository. */
export class RegistryApi {
  constructor(
    private readonly baseUrl: string,
    private readonly repository: string,
    private readonly authorization: string | undefined,
  ) {}

  /** Blob upload as `docker push` does it (skipped when the registry has the blob): POST opens an upload session, PUT with ?digest= completes it. */
  async uploadBlob(data: Buffer): Promise<string> {
    const digest = sha256Digest(data);
    const head = await this.call('HEAD', `${this.baseUrl}/v2/${this.repository}/blobs/${digest}`, undefined, {});
    if (head.status === 200) return digest;
    const opened = await this.call('POST', `${this.baseUrl}/v2/${this.repository}/blobs/uploads/`, undefined, {});
    await this.expect(opened, 202, 'open a blob upload');
    const location = opened.headers.get('location');
    if (!location) throw new Error('the registry opened a blob upload without a Location');
    const target = new URL(location, this.baseUrl);
    target.searchParams.set('digest', digest);
    const completed = await this.call('PUT', target.toString(), data, { 'Content-Type': 'application/octet-stream' });
    await this.expect(completed, 201, `upload blob ${digest}`);
    return digest;
  }

  async putManifest(reference: string, mediaType: string, bytes: Buffer): Promise<string> {
    const response = await this.call('PUT', `${this.baseUrl}/v2/${this.repository}/manifests/${reference}`, bytes, { 'Content-Type': mediaType });
    await this.expect(response, 201, `put manifest ${this.repository}:${reference}`);
    const digest = sha256Digest(bytes);
    const reported = response.headers.get('docker-content-digest');
    if (reported !== digest) throw new Error(`the registry stored manifest ${digest} as ${reported ?? 'no digest'}`);
    return digest;
  }

  private call(method: string, url: string, body: Buffer | undefined, headers: Record<string, string>): Promise<Response> {
    const allHeaders: Record<string, string> = { ...headers };
    if (this.authorization) allHeaders.Authorization = this.authorization;
    return fetch(url, { method, headers: allHeaders, ...(body ? { body } : {}), signal: AbortSignal.timeout(30_000) });
  }

  private async expect(response: Response, status: number, what: string): Promise<void> {
    if (response.status === status) {
      await response.body?.cancel();
      return;
    }
    throw new Error(`cannot ${what}: HTTP ${response.status} ${await response.text().catch(() => '')}`);
  }
}
