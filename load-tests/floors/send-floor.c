// send-floor: what one send() per delivery costs on this machine, before any server code.
// One process accepts N loopback TCP connections and, R times a second, writes one SSE frame of a chat message's
// size to each of them (B frames per write with a batch of B); a forked child reads them all with epoll.
// Prints the sender's CPU time (user + system, from getrusage) per delivered frame and per send().
//   send-floor N R SECONDS [B] [uring]   e.g. send-floor 300 100 10   (scenario A's 30,000 deliveries/s)
// With "uring" (built with -DHAVE_URING -luring, from liburing-dev), each round's N sends are queued on an io_uring
// and submitted with one system call, which shows what is left when the system calls themselves are batched.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#ifdef HAVE_URING
#include <liburing.h>
#endif

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double cpu(void) {
  struct rusage r; getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: send-floor STREAMS RATE SECONDS [BATCH] [uring]\n"); return 2; }
  int n = atoi(argv[1]), rate = atoi(argv[2]), secs = atoi(argv[3]), batch = argc > 4 ? atoi(argv[4]) : 1;
  int uring = argc > 5 && strcmp(argv[5], "uring") == 0;
  if (n < 1 || (uring && n > 4096) || rate < 1 || secs < 1 || batch < 1 || batch > 16 || (argc > 5 && !uring)) {
    fprintf(stderr, "send-floor: bad arguments\n");
    return 2;
  }
#ifdef HAVE_URING
  struct io_uring ring;
  if (uring && io_uring_queue_init(4096, &ring, 0)) { perror("io_uring_queue_init"); return 1; }
#else
  if (uring) { fprintf(stderr, "send-floor: built without io_uring (gcc -DHAVE_URING ... -luring)\n"); return 2; }
#endif
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); a.sin_port = 0;
  socklen_t al = sizeof a;
  if (bind(ls, (void *)&a, sizeof a) || listen(ls, 4096) || getsockname(ls, (void *)&a, &al)) { perror("listen"); return 1; }

  pid_t child = fork();
  if (child == 0) { // the reader: every connection, drained as data comes
    int ep = epoll_create1(0);
    struct epoll_event ev, evs[512];
    for (int i = 0; i < n; i++) {
      int s = socket(AF_INET, SOCK_STREAM, 0);
      if (connect(s, (void *)&a, sizeof a)) { perror("connect"); exit(1); }
      ev.events = EPOLLIN; ev.data.fd = s; epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    }
    static char buf[65536];
    double t0 = now();
    while (now() - t0 < secs + 2) {
      int k = epoll_wait(ep, evs, 512, 100);
      for (int i = 0; i < k; i++) if (read(evs[i].data.fd, buf, sizeof buf) < 0) exit(1);
    }
    exit(0);
  }

  int *fd = malloc(n * sizeof(int));
  for (int i = 0; i < n; i++) {
    fd[i] = accept(ls, 0, 0);
    setsockopt(fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); // as Kestrel sets it
  }
  // The size of SseChat's frame for a short message (event name, id, the rendered <li>).
  char frame[512];
  int fl = snprintf(frame, sizeof frame, "id: 1764234300000-0\ndata: <li class=\"msg\" data-kind=\"message\" id=\"m-1764234300000-0\""
                    " data-sent=\"1764234300000\"><time>10:05</time> <b class=\"nick\">alice</b> <span class=\"text\">hello "
                    "world, a message of ordinary size</span></li>\n\n");
  char *out = malloc((size_t)fl * batch);
  for (int b = 0; b < batch; b++) memcpy(out + (size_t)b * fl, frame, fl);
  usleep(300000);

  long sends = 0, failed = 0;
  double c0 = cpu(), t0 = now(), next = t0, interval = (double)batch / rate;
  while (now() - t0 < secs) {
    if (!uring) {
      for (int i = 0; i < n; i++) {
        if (send(fd[i], out, (size_t)fl * batch, MSG_DONTWAIT) == (ssize_t)fl * batch) sends++; else failed++;
      }
    }
#ifdef HAVE_URING
    else {
      for (int i = 0; i < n; i++) io_uring_prep_send(io_uring_get_sqe(&ring), fd[i], out, (size_t)fl * batch, MSG_DONTWAIT);
      if (io_uring_submit_and_wait(&ring, n) < 0) { perror("io_uring_submit_and_wait"); return 1; }
      struct io_uring_cqe *cqe;
      unsigned head, seen = 0;
      io_uring_for_each_cqe(&ring, head, cqe) {
        if (cqe->res == fl * batch) sends++; else failed++;
        seen++;
      }
      io_uring_cq_advance(&ring, seen);
    }
#endif
    next += interval;
    double wait = next - now();
    if (wait > 0) usleep((useconds_t)(wait * 1e6));
  }
  double used = cpu() - c0;
  printf("{\"syscalls\":\"%s\",\"streams\":%d,\"rate\":%d,\"batch\":%d,\"frameBytes\":%d,\"sends\":%ld,\"failed\":%ld,\"cpuUsPerDelivery\":%.2f,\"cpuUsPerSend\":%.2f}\n",
         uring ? "io_uring" : "send", n, rate, batch, fl, sends, failed, used * 1e6 / ((double)sends * batch), used * 1e6 / sends);
  waitpid(child, 0, 0);
  return failed > 0;
}
