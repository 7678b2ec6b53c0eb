/**
 * The image registry port: does an image reference exist in its registry?
 *
 * The domain asks through this interface; `src/registry/` implements it as a client
 * of the OCI distribution API. A check never throws for registry trouble: "the image
 * is not there" and "the registry could not be asked" are different answers, and only
 * the first may ever reach a customer as "image does not exist".
 */

/** Credentials for a private registry, as the customer gave them (never logged, never cached in clear). */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** A reference normalised the way Docker does it (`nginx` → docker.io/library/nginx:latest). */
export interface ImageReference {
  /** Registry host as written, with port when given; `docker.io` for Docker Hub. */
  registry: string;
  /** Repository path inside the registry, e.g. `library/nginx`. */
  repository: string;
  /** Tag, when the reference names one (defaults to `latest` when neither tag nor digest is given). */
  tag?: string;
  /** `sha256:…` digest, when the reference pins one. */
  digest?: string;
  /** The full normalised reference, e.g. `docker.io/library/nginx:latest`. */
  canonical: string;
}

export type ImageCheck =
  /** The manifest (or index) exists. */
  | { status: 'exists'; reference: ImageReference; digest?: string }
  /** The registry answered that the repository or the tag/digest does not exist. */
  | { status: 'missing'; reference: ImageReference }
  /** The registry refused the credentials that were given. */
  | { status: 'denied'; reference: ImageReference; detail: string }
  /**
   * The registry could not be asked: unreachable, timed out, or kept answering 5xx/429.
   * `detail` may be shown to the caller. When the registry is on a private address
   * (one the provider allowed), its connection errors would tell whether something
   * listens there: `detail` then only says it could not be reached, and `logDetail`
   * has the errors, for the provider's log.
   */
  | { status: 'unreachable'; reference: ImageReference; detail: string; logDetail?: string }
  /**
   * Not asked: the registry, a server it redirected to, or its token service is on an
   * address V-Kube does not contact (loopback, private, link-local, the cluster's own)
   * and the provider did not allow. Nothing was sent there. `logDetail` says which
   * address and why, for the provider's log only: callers learn no more than the refusal.
   */
  | { status: 'blocked'; reference: ImageReference; logDetail: string };

/** What a caller is told of a `blocked` check: the rule, never the address or its state. */
export const BLOCKED_REASON = 'V-Kube contacts no loopback, private, link-local or cluster address unless the provider allows it';

export interface ImageRegistry {
  /** Parses and checks a reference; throws `InvalidImageReference` only for a malformed reference. */
  check(reference: string, credentials?: RegistryCredentials): Promise<ImageCheck>;
}

/** A reference that is not `name[:tag][@digest]` as Docker understands it. */
export class InvalidImageReference extends Error {
  constructor(
    readonly reference: string,
    reason: string,
  ) {
    super(`invalid image reference ${JSON.stringify(reference)}: ${reason}`);
    this.name = 'InvalidImageReference';
  }
}
