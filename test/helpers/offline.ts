/**
 * Tests send nothing off this machine, and Docker Hub is not reachable from it anyway:
 * Docker Hub names (the `nginx` of the seed's examples) are checked at a loopback port
 * where nothing listens, so their check is "registry unreachable" at once — the deploy
 * goes ahead with a warning — without a DNS lookup or a connection leaving the machine.
 * Suites that run real images point docker.io at the local cluster's registry instead.
 */
export const OFFLINE_DOCKER_HUB = 'docker.io=http://127.0.0.1:9';
