/*
 * Pod sandbox "pause" process for the local test cluster.
 *
 * Behaves like Kubernetes' pause: as PID 1 of the sandbox it holds the pod's namespaces,
 * exits on SIGINT/SIGTERM, reaps orphaned children on SIGCHLD, and otherwise sleeps in
 * pause() forever. Built as a static binary (musl-gcc -static -Os) for a FROM-scratch image.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERSION "distroless-debug-pause-1"

static void sigdown(int signo) {
  psignal(signo, "Shutting down, got signal");
  exit(0);
}

static void sigreap(int signo) {
  (void)signo;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0)
    ;
  errno = saved;
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    printf("pause.c %s\n", VERSION);
    return 0;
  }
  if (getpid() != 1)
    fprintf(stderr, "Warning: pause should be the first process\n");

  struct sigaction down = {.sa_handler = sigdown};
  sigemptyset(&down.sa_mask);
  if (sigaction(SIGINT, &down, NULL) < 0)
    return 1;
  if (sigaction(SIGTERM, &down, NULL) < 0)
    return 2;

  struct sigaction reap = {.sa_handler = sigreap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  sigemptyset(&reap.sa_mask);
  if (sigaction(SIGCHLD, &reap, NULL) < 0)
    return 3;

  for (;;)
    pause();
  fprintf(stderr, "Error: infinite loop terminated\n");
  return 42;
}
