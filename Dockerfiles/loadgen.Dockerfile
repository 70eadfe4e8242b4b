# pipeperf/loadgen: the load generator, as `loadgen serve` (started and stopped over its admin API by a suite's loadgen execution; `docker run pipeperf/loadgen:0.1.0 run --endpoint HOST:4317 --rate 100k` runs one load and exits).
# FROM scratch: rootfs/ holds the stripped release binary, exactly the shared libraries ldd lists for it,
# /etc/passwd and /etc/group. The context is staged by `pipeperf images build` (scripts/build-images);
# nothing is pulled. In a container the servers listen on 0.0.0.0 (the container's own interfaces);
# the ports are published on 127.0.0.1 unless a suite says otherwise. See docs/docker.md.
FROM scratch
COPY rootfs/ /
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=1s --timeout=3s --start-period=5s --retries=3 CMD ["/usr/local/bin/loadgen", "healthcheck", "127.0.0.1:8080"]
ENTRYPOINT ["/usr/local/bin/loadgen"]
CMD ["serve", "--admin", "0.0.0.0:8080"]
