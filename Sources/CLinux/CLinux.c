// The helpers that need _GNU_SOURCE, which a module header cannot set (see include/CLinux.h).
#define _GNU_SOURCE
#include <sys/socket.h>
#include <errno.h>
#include <stdint.h>
#include <stddef.h>

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
