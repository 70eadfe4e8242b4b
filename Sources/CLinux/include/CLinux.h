// Linux system headers that Glibc's Swift module does not export (epoll), as in swift-nio's CNIOLinux.
#pragma once
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/tcp.h>
#include <stdint.h>

/// Builds an epoll_event whose data carries a 64-bit token (the union is awkward from Swift).
static inline struct epoll_event clinux_epoll_event(uint32_t events, uint64_t token) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = token;
    return ev;
}

static inline uint64_t clinux_epoll_token(const struct epoll_event *ev) { return ev->data.u64; }
static inline uint32_t clinux_epoll_events(const struct epoll_event *ev) { return ev->events; }
