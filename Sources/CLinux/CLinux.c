// The helpers that need _GNU_SOURCE, which a module header cannot set (see include/CLinux.h).
#define _GNU_SOURCE
#include <sys/socket.h>
#include <errno.h>
#include <stdint.h>
#include <stddef.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

int clinux_send_datagrams(int fd, const uint8_t *base, const int32_t *offsets, int count, int size) {
    enum { chunk = 64 };
    struct mmsghdr msgs[chunk];
    struct iovec iov[chunk];
    int sent = 0;
    while (sent < count) {
        int n = count - sent < chunk ? count - sent : chunk;
        for (int i = 0; i < n; i++) {
            iov[i].iov_base = (void *)(base + offsets[sent + i]);
            iov[i].iov_len = (size_t)size;
            struct msghdr *h = &msgs[i].msg_hdr;
            h->msg_name = NULL;
            h->msg_namelen = 0;
            h->msg_iov = &iov[i];
            h->msg_iovlen = 1;
            h->msg_control = NULL;
            h->msg_controllen = 0;
            h->msg_flags = 0;
            msgs[i].msg_len = 0;
        }
        int r = sendmmsg(fd, msgs, (unsigned int)n, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR) continue;
            return sent > 0 ? sent : -1;
        }
        sent += r;
        if (r < n) break;
    }
    return sent;
}

int clinux_spawn(const char *const argv[], const char *const envp[], const char *cwd, int out_fd, int err_fd,
                 const int *cpus, int cpu_count, int parent_death_signal) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(report[0]);
        close(report[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        // In the child: only async-signal-safe calls until exec.
        setpgid(0, 0);
        if (parent_death_signal) {
            prctl(PR_SET_PDEATHSIG, parent_death_signal);
            if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (cpu_count > 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            for (int i = 0; i < cpu_count; i++) CPU_SET(cpus[i], &set);
            if (sched_setaffinity(0, sizeof set, &set) != 0) goto fail;
        }
        if (out_fd >= 0 && dup2(out_fd, 1) < 0) goto fail;
        if (err_fd >= 0 && dup2(err_fd, 2) < 0) goto fail;
        if (cwd && chdir(cwd) != 0) goto fail;
        {
            int devnull = open("/dev/null", O_RDONLY);
            if (devnull >= 0) { dup2(devnull, 0); if (devnull > 2) close(devnull); }
        }
        execvpe(argv[0], (char *const *)argv, (char *const *)envp);
    fail:
        {
            int e = errno;
            ssize_t w = write(report[1], &e, sizeof e);
            (void)w;
        }
        _exit(127);
    }
    close(report[1]);
    int child_errno = 0;
    ssize_t n;
    do { n = read(report[0], &child_errno, sizeof child_errno); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof child_errno) {
        int status;
        waitpid(pid, &status, 0);
        errno = child_errno;
        return -1;
    }
    return pid;
}

int clinux_enable_rx_timestamps(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
}

long clinux_recv_timestamped(int fd, void *buf, size_t len, int64_t *realtime_ns) {
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    union {
        char space[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    *realtime_ns = 0;
    ssize_t n;
    do {
        msg.msg_control = control.space;
        msg.msg_controllen = sizeof control.space;
        n = recvmsg(fd, &msg, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return (long)n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            *realtime_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        }
    }
    return (long)n;
}
