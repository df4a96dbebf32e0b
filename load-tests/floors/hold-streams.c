// hold-streams: opens N streams (GET PATH, HTTP/1.1) to 127.0.0.1:PORT, C at a time, waits until each has sent its
// first bytes, prints "open N", and holds them all, reading nothing more, until it is killed.
//   hold-streams PORT N [C] [PATH] [EXTRA-HEADER-LINES]
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <arpa/inet.h>

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: hold-streams PORT N [CONCURRENCY] [PATH] [EXTRA-HEADERS]\n"); return 2; }
  int port = atoi(argv[1]), n = atoi(argv[2]), concurrency = argc > 3 ? atoi(argv[3]) : 200;
  const char *path = argc > 4 ? argv[4] : "/events", *extra = argc > 5 ? argv[5] : "";
  char request[1024];
  int length = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n%s\r\n", path, extra);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); a.sin_port = htons(port);
  int ep = epoll_create1(0), started = 0, open = 0, pending = 0;
  struct epoll_event ev, evs[256];
  char buf[4096];
  while (open < n) {
    while (pending < concurrency && started < n) {
      int s = socket(AF_INET, SOCK_STREAM, 0);
      if (connect(s, (void *)&a, sizeof a) || write(s, request, length) != length) { perror("open"); return 1; }
      ev.events = EPOLLIN; ev.data.fd = s; epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
      started++; pending++;
    }
    int k = epoll_wait(ep, evs, 256, 30000);
    if (k <= 0) { fprintf(stderr, "hold-streams: no answer within 30 s, %d open\n", open); return 1; }
    for (int i = 0; i < k; i++) {
      if (read(evs[i].data.fd, buf, sizeof buf) <= 0) { fprintf(stderr, "hold-streams: a stream closed, %d open\n", open); return 1; }
      epoll_ctl(ep, EPOLL_CTL_DEL, evs[i].data.fd, 0);
      open++; pending--;
    }
  }
  printf("open %d\n", open);
  fflush(stdout);
  pause();
  return 0;
}
