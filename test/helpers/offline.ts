/**
 * Tests send nothing off this machine, and Docker Hub is not reachable from it anyway:
 * Docker Hub names (the `nginx` of the seed's examples) are checked at a loopback port
 * where nothing listens, so their check is "registry unreachable" at once — the deploy
 * goes ahead with a warning — without a DNS lookup or a connection leaving the machine.
 * Suites that run real images point docker.io at the local cluster's registry instead.
 */
export const OFFLINE_DOCKER_HUB = 'docker.io=http://127.0.0.1:9';

/**
 * What image checks in tests may contact although it is private: 127.0.0.1, every port,
 * where dev/registry/testing.ts starts the test registries (and the local cluster keeps
 * its own). Other loopback addresses (127.0.0.2, 127.0.0.3…) stay refused, so the
 * tests of the address policy listen there.
 */
export const TEST_REGISTRIES = '127.0.0.1';
