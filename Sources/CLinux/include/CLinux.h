// Linux system headers that Glibc's Swift module does not export (epoll), as in swift-nio's CNIOLinux.
#pragma once
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <errno.h>
#include <time.h>

/// accept4 is declared by glibc only under _GNU_SOURCE, which a module header cannot set for the
/// system modules; the prototype is stable (Linux 2.6.28+, glibc 2.10+).
extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
static inline int clinux_accept4(int fd, int flags) { return accept4(fd, NULL, NULL, flags); }

/// Builds an epoll_event whose data carries a 64-bit token (the union is awkward from Swift).
static inline struct epoll_event clinux_epoll_event(uint32_t events, uint64_t token) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = token;
    return ev;
}

static inline uint64_t clinux_epoll_token(const struct epoll_event *ev) { return ev->data.u64; }
static inline uint32_t clinux_epoll_events(const struct epoll_event *ev) { return ev->events; }

/// epoll_wait with a nanosecond timeout (epoll_pwait2, Linux 5.11+); falls back to millisecond
/// epoll_wait (rounded up) where the kernel lacks it. timeout_ns < 0 waits forever.
static inline int clinux_epoll_wait_ns(int epfd, struct epoll_event *events, int max, int64_t timeout_ns) {
    static int no_pwait2 = 0;
    if (!no_pwait2) {
        struct timespec ts;
        struct timespec *tsp = NULL;
        if (timeout_ns >= 0) {
            ts.tv_sec = timeout_ns / 1000000000;
            ts.tv_nsec = timeout_ns % 1000000000;
            tsp = &ts;
        }
        int n = epoll_pwait2(epfd, events, max, tsp, NULL);
        if (n >= 0 || errno != ENOSYS) return n;
        no_pwait2 = 1;
    }
    int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);
    return epoll_wait(epfd, events, max, ms);
}

/// Sends `count` datagrams of `size` bytes, datagram i starting at base + offsets[i], on a connected
/// socket with as few system calls as sendmmsg allows (64 per call), no allocation. Returns the
/// datagrams sent (fewer when the socket buffer is full), or -1 with errno when none could be sent.
/// In CLinux.c, which can define _GNU_SOURCE (sendmmsg needs it).
int clinux_send_datagrams(int fd, const uint8_t *base, const int32_t *offsets, int count, int size);

/// Starts `argv[0]` (searched in PATH when it has no '/') as a child in its own process group, with
/// `envp`, working directory `cwd` (NULL: unchanged), stdout and stderr to the given descriptors (-1:
/// unchanged), pinned to `cpus` (count 0: not pinned), and `parent_death_signal` delivered to it when
/// the calling thread's process dies (prctl PR_SET_PDEATHSIG; 0: none). Returns the pid, or -1 with
/// errno (exec failures are reported through a pipe, so errno is the child's).
int clinux_spawn(const char *const argv[], const char *const envp[], const char *cwd, int out_fd, int err_fd,
                 const int *cpus, int cpu_count, int parent_death_signal);

/// Asks the kernel to stamp every packet `fd` receives (SO_TIMESTAMPNS, CLOCK_REALTIME, nanoseconds).
/// Returns 0, or -1 with errno.
int clinux_enable_rx_timestamps(int fd);

/// recv on a non-blocking socket that also returns the kernel's receive time of the last packet the
/// read consumed (SO_TIMESTAMPNS must be on), in CLOCK_REALTIME nanoseconds, or 0 when the read
/// carried none. Returns the bytes read, 0 at end of stream, -1 with errno (EINTR retried).
long clinux_recv_timestamped(int fd, void *buf, size_t len, int64_t *realtime_ns);
