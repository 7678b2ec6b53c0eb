/**
 * Images the real node needs before any pod can start, built here without Docker and
 * pushed to the local registry by `cluster:up`:
 * - `vkube/pause:<version>`: every pod's sandbox (our pause.c, static);
 * - `library/busybox:latest` (also `:1.35`): Debian's static busybox with every applet
 *   linked, a root and a nobody user. The local-path provisioner's helper pods run it,
 *   and as docker.io maps to the local registry, `busybox` is a real image to deploy.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { buildImage, type BuiltImage, pushBuiltImage, type TarEntry } from '../../registry/oci-image.js';
import { ClusterError } from '../util.js';

const exec = promisify(execFile);

export const BUSYBOX_BINARY = '/bin/busybox';
export const BUSYBOX_REPOSITORY = 'library/busybox';
export const PAUSE_REPOSITORY = 'vkube/pause';

/** True when the ELF file asks for no dynamic loader (runs in an empty image). */
export function isStaticElf(binary: Buffer): boolean {
  if (binary.readUInt32BE(0) !== 0x7f454c46 || binary[4] !== 2) return false; // ELF, 64-bit
  const phoff = Number(binary.readBigUInt64LE(0x20));
  const phentsize = binary.readUInt16LE(0x36);
  const phnum = binary.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (binary.readUInt32LE(phoff + i * phentsize) === 3 /* PT_INTERP */) return false;
  return true;
}

/** Debian's busybox-static: the binary and every applet's path (`bin/sh`, `usr/bin/wget`, …). */
export async function busyboxFiles(): Promise<TarEntry[]> {
  const binary = await readFile(BUSYBOX_BINARY).catch(() => undefined);
  if (!binary || !isStaticElf(binary)) {
    throw new ClusterError(`${BUSYBOX_BINARY} is missing or not the static build (the real node's images are made from it)`, 'install Debian busybox-static: scripts/install-system-deps.sh');
  }
  const applets = (await exec(BUSYBOX_BINARY, ['--list-full'])).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const dirs = new Set(['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'etc', 'root', 'var', 'var/www', 'home', 'proc', 'sys', 'dev', 'run']);
  for (const path of applets) dirs.add(path.slice(0, path.lastIndexOf('/')));
  return [
    ...[...dirs].sort().map((path): TarEntry => ({ type: 'dir', path, mode: path === 'root' ? 0o700 : 0o755 })),
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'file', path: 'bin/busybox', content: binary, mode: 0o755 },
    ...applets.filter((p) => p !== 'bin/busybox').map((path): TarEntry => ({ type: 'symlink', path, target: '/bin/busybox' })),
    { type: 'file', path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' },
    { type: 'file', path: 'etc/group', content: 'root:x:0:\nnogroup:x:65534:\n' },
  ];
}

export const BUSYBOX_PATH_ENV = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin';

export async function busyboxImage(): Promise<BuiltImage> {
  return buildImage([await busyboxFiles()], { Cmd: ['sh'], Env: [BUSYBOX_PATH_ENV] });
}

export async function pauseImage(pauseBinary: string): Promise<BuiltImage> {
  const binary = await readFile(pauseBinary);
  return buildImage([[{ type: 'file', path: 'pause', content: binary, mode: 0o755 }]], { Entrypoint: ['/pause'] });
}

export interface NodeImages {
  /** Full reference of the sandbox image, for containerd's config. */
  pause: string;
  /** Full reference of busybox in the local registry. */
  busybox: string;
}

/** Pushes the pause and busybox images into the registry at `host` (127.0.0.1:<port>). */
export async function pushNodeImages(host: string, pauseBinary: string, pauseTag: string): Promise<NodeImages> {
  const url = `http://${host}`;
  await pushBuiltImage(url, PAUSE_REPOSITORY, pauseTag, await pauseImage(pauseBinary));
  const busybox = await busyboxImage();
  for (const tag of ['latest', '1.35']) await pushBuiltImage(url, BUSYBOX_REPOSITORY, tag, busybox);
  return { pause: `${host}/${PAUSE_REPOSITORY}:${pauseTag}`, busybox: `${host}/${BUSYBOX_REPOSITORY}:latest` };
}
