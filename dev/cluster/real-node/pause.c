/*
 * The pod sandbox's one process: it holds the pod's namespaces open and does nothing
 * else. It exits at once on SIGINT or SIGTERM (so stopping a pod does not wait for a
 * grace period) and reaps any child handed to it, as an init process must.
 *
 * Built by dev/cluster (gcc -static) into the local cluster's pause image: the node
 * has no internet, so registry.k8s.io/pause cannot be pulled.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction on_stop = {.sa_handler = stop};
  struct sigaction on_child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
  sigaction(SIGINT, &on_stop, NULL);
  sigaction(SIGTERM, &on_stop, NULL);
  sigaction(SIGCHLD, &on_child, NULL);
  for (;;) pause();
  return 0;
}
