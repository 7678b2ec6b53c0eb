/**
 * Image references as Docker reads them: `name[:tag][@digest]`, normalised so that
 * `nginx`, `library/nginx` and `docker.io/library/nginx:latest` are the same thing.
 *
 * The grammar follows docker/distribution's `reference` package. One deliberate
 * difference: Docker also treats a first component with uppercase letters as a
 * registry host; we only do so for `.`, `:` or `localhost`, so `Foo/bar` is an
 * invalid reference here rather than a lookup against a host called `Foo`.
 */
import { type ImageReference, InvalidImageReference } from './types.js';

export const DOCKER_HUB = 'docker.io';
/** Docker's old name for Docker Hub; references written with it mean docker.io. */
const LEGACY_DOCKER_HUB = 'index.docker.io';
/** Docker Hub's API does not live at the name people write. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const OFFICIAL_IMAGES_NAMESPACE = 'library';
const DEFAULT_TAG = 'latest';
/** Longest `registry/repository` Docker accepts, counted after normalisation. */
const NAME_TOTAL_LENGTH_MAX = 255;
/** Cheap guard before any regex runs on customer input. */
const REFERENCE_LENGTH_MAX = 512;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const REGISTRY_HOST = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`,
);

/**
 * One name per registry, for settings keyed by registry: lowercase (host names are
 * case-insensitive), and Docker Hub's three names (docker.io, index.docker.io,
 * registry-1.docker.io) as docker.io.
 */
export function registryName(registry: string): string {
  const lower = registry.toLowerCase();
  return lower === LEGACY_DOCKER_HUB || lower === DOCKER_HUB_API_HOST ? DOCKER_HUB : lower;
}

/**
 * Whether `host` can stand before the repository in an image reference: a valid
 * host[:port] that the reference grammar reads as a registry (a "." or ":port", or
 * localhost). `docker.io` is one.
 */
export function isRegistryHost(host: string): boolean {
  const namesRegistry = host.includes('.') || host.includes(':') || host === 'localhost';
  return namesRegistry && REGISTRY_HOST.test(host) && validPort(host);
}

/** The parts of a reference as written, before defaults are applied. */
interface SplitReference {
  registry: string;
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
}

/** Parses `nginx`, `user/app:1.2`, `ghcr.io/o/a@sha256:…`, `localhost:5000/x:dev`, … */
export function parseReference(ref: string): ImageReference {
  const split = splitReference(ref);
  const tag = split.tag ?? (split.digest ? undefined : DEFAULT_TAG);
  return buildReference({ ...split, tag });
}

/**
 * The seed API's `?image=nginx&tag=stable`: the image names a repository only, the
 * tag comes separately, and both are required.
 */
export function referenceFromImageAndTag(image: string, tag: string): ImageReference {
  const written = `${image}:${tag}`;
  if (image === '') throw new InvalidImageReference(written, 'the image is empty');
  if (tag === '') throw new InvalidImageReference(written, 'the tag is empty');
  if (!TAG.test(tag)) throw new InvalidImageReference(written, `tag ${JSON.stringify(tag)} is not valid`);
  const split = splitReference(image);
  if (split.tag !== undefined || split.digest !== undefined) {
    throw new InvalidImageReference(written, 'the image must not carry its own tag or digest');
  }
  return buildReference({ ...split, tag });
}

function buildReference(parts: SplitReference): ImageReference {
  const name = `${parts.registry}/${parts.repository}`;
  const canonical = name + (parts.tag !== undefined ? `:${parts.tag}` : '') + (parts.digest !== undefined ? `@${parts.digest}` : '');
  const reference: ImageReference = { registry: parts.registry, repository: parts.repository, canonical };
  if (parts.tag !== undefined) reference.tag = parts.tag;
  if (parts.digest !== undefined) reference.digest = parts.digest;
  return reference;
}

function splitReference(ref: string): SplitReference {
  const fail = (reason: string): never => {
    throw new InvalidImageReference(ref, reason);
  };
  if (typeof ref !== 'string' || ref === '') fail('the reference is empty');
  if (ref.length > REFERENCE_LENGTH_MAX) fail(`longer than ${REFERENCE_LENGTH_MAX} characters`);

  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) fail('the digest must be sha256: followed by 64 lowercase hex digits');
  }

  let tag: string | undefined;
  // A colon after the last slash starts the tag; one before it belongs to a registry port.
  const colon = rest.indexOf(':', rest.lastIndexOf('/') + 1);
  if (colon !== -1) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (tag === '') fail('the tag after ":" is empty');
    if (!TAG.test(tag)) fail(`tag ${JSON.stringify(tag)} is not valid`);
  }
  if (rest === '') fail('the repository name is empty');

  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash !== -1) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first === LEGACY_DOCKER_HUB ? DOCKER_HUB : first;
      repository = rest.slice(slash + 1);
    }
  }
  if (registry !== DOCKER_HUB && !REGISTRY_HOST.test(registry)) fail(`registry host ${JSON.stringify(registry)} is not valid`);
  if (!validPort(registry)) fail(`registry host ${JSON.stringify(registry)} has a port outside 1-65535`);

  const components = repository.split('/');
  for (const component of components) {
    if (!PATH_COMPONENT.test(component)) {
      fail(
        component === ''
          ? 'the repository has an empty path component'
          : `repository component ${JSON.stringify(component)} must be lowercase letters and digits, separated by ".", "_", "__" or "-"`,
      );
    }
  }
  if (registry === DOCKER_HUB && components.length === 1) repository = `${OFFICIAL_IMAGES_NAMESPACE}/${repository}`;

  const nameLength = registry.length + 1 + repository.length;
  if (nameLength > NAME_TOTAL_LENGTH_MAX) fail(`the name is longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  return { registry, repository, tag, digest };
}

function validPort(registry: string): boolean {
  const match = /:(\d+)$/.exec(registry.startsWith('[') ? registry.slice(registry.indexOf(']')) : registry);
  if (!match) return true;
  const port = Number(match[1]);
  return port >= 1 && port <= 65535;
}
