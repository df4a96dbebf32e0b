// drain-streams: opens N streams (GET PATH, HTTP/1.1) to 127.0.0.1:PORT, reads everything they send, and reports the
// server's CPU time (user + system of process PID, from /proc) per SSE event received ("\n\n") over a measured window
// that starts WARM seconds after every stream has answered and lasts SECONDS. Prints one JSON line.
//   drain-streams PORT N WARM SECONDS PID [PATH]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <arpa/inet.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static double server_cpu(int pid) { // seconds of user + system time of the whole process
  char path[64], line[4096];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f || !fgets(line, sizeof line, f)) { fprintf(stderr, "drain-streams: cannot read %s\n", path); exit(1); }
  fclose(f);
  char *p = strrchr(line, ')'); // the command name may hold spaces; fields follow its closing parenthesis
  unsigned long utime = 0, stime = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) {
    fprintf(stderr, "drain-streams: cannot parse %s\n", path); exit(1);
  }
  return (double)(utime + stime) / sysconf(_SC_CLK_TCK);
}

int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: drain-streams PORT N WARM SECONDS PID [PATH]\n"); return 2; }
  int port = atoi(argv[1]), n = atoi(argv[2]), pid = atoi(argv[5]);
  double warm = atof(argv[3]), secs = atof(argv[4]);
  const char *path = argc > 6 ? argv[6] : "/events";
  if (port < 1 || n < 1 || n > 60000 || warm < 0 || secs <= 0 || pid < 1) { fprintf(stderr, "drain-streams: bad arguments\n"); return 2; }
  char request[512];
  int length = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n", path);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); a.sin_port = htons(port);
  int ep = epoll_create1(0);
  struct epoll_event ev, evs[512];
  char *last = calloc(n + 1, 1); // the last byte read from each stream, for a "\n\n" split across reads
  int *index = malloc(sizeof(int) * 65536);
  for (int i = 0; i < n; i++) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s >= 65536 || connect(s, (void *)&a, sizeof a) || write(s, request, length) != length) { perror("drain-streams: open"); return 1; }
    index[s] = i;
    ev.events = EPOLLIN; ev.data.fd = s; epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
  }
  static char buf[65536];
  int answered = 0, measuring = 0;
  char *seen = calloc(n, 1);
  long events = 0;
  double t0 = now(), start = 0, cpu0 = 0;
  while (1) {
    double t = now();
    if (answered < n && t - t0 > 30) { fprintf(stderr, "drain-streams: only %d of %d streams answered within 30 s\n", answered, n); return 1; }
    if (answered == n && !measuring && t >= start) { measuring = 1; events = 0; start = t; cpu0 = server_cpu(pid); }
    if (measuring && t - start >= secs) break;
    int k = epoll_wait(ep, evs, 512, 10);
    for (int i = 0; i < k; i++) {
      int s = evs[i].data.fd, j = index[s];
      ssize_t r = read(s, buf, sizeof buf);
      if (r <= 0) { fprintf(stderr, "drain-streams: a stream closed\n"); return 1; }
      if (!seen[j]) { seen[j] = 1; if (++answered == n) start = now() + warm; }
      for (ssize_t b = 0; b < r; b++) {
        if (buf[b] == '\n' && (b > 0 ? buf[b - 1] : last[j]) == '\n') events++;
      }
      last[j] = buf[r - 1];
    }
  }
  double cpu = server_cpu(pid) - cpu0, elapsed = now() - start;
  if (events == 0) { fprintf(stderr, "drain-streams: no event arrived in the measured window\n"); return 1; }
  printf("{\"streams\":%d,\"seconds\":%.2f,\"eventsPerSecond\":%.0f,\"serverCpuMs\":%.0f,\"cpuPerEventUs\":%.2f}\n",
         n, elapsed, events / elapsed, cpu * 1000, events ? cpu * 1e6 / events : 0.0);
  return 0;
}
