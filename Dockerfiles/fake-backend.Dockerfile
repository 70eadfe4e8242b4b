# pipeperf/fake-backend: the counting fake backend (loss, duplicates, latency, faults).
# FROM scratch: rootfs/ holds the stripped release binary, exactly the shared libraries ldd lists for it,
# /etc/passwd and /etc/group. The context is staged by `pipeperf images build` (scripts/build-images);
# nothing is pulled. In a container the servers listen on 0.0.0.0 (the container's own interfaces);
# the ports are published on 127.0.0.1 unless a suite says otherwise. See docs/docker.md.
FROM scratch
COPY rootfs/ /
USER 65532:65532
EXPOSE 4317 4318 8081
HEALTHCHECK --interval=1s --timeout=3s --start-period=5s --retries=3 CMD ["/usr/local/bin/fake-backend", "healthcheck", "127.0.0.1:8081"]
ENTRYPOINT ["/usr/local/bin/fake-backend"]
CMD ["--grpc", "0.0.0.0:4317", "--http", "0.0.0.0:4318", "--admin", "0.0.0.0:8081"]
