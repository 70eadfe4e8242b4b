#!/usr/bin/env python3
"""An independent OTLP gRPC receiver for tests and benchmarks: grpcio + opentelemetry-proto.

It counts what arrives per signal by parsing every request with opentelemetry-proto (what the reference
framework's Python backend did), and can answer with a chosen gRPC status or an OTLP partial success.

  python3 otlp_receiver.py --port 0 [--status UNAVAILABLE] [--reject N] [--workers 4]

Prints `listening 127.0.0.1:PORT` on stdout once serving. On SIGTERM/SIGINT (with --stdin-control
also at the end of standard input; a line `stats` prints the counts so far) it prints one JSON line
with the counts: {"logs": {"requests", "items", "seq_distinct",
"bytes"}, "traces": {...}, "metrics": {...}}.
"""
import argparse
import json
import signal
import sys
import threading
from concurrent import futures

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_signal = {s: {"requests": 0, "items": 0, "bytes": 0, "seqs": set()} for s in ("logs", "traces", "metrics")}

    def add(self, signal_name, items, size, seqs):
        with self.lock:
            c = self.by_signal[signal_name]
            c["requests"] += 1
            c["items"] += items
            c["bytes"] += size
            c["seqs"].update(seqs)

    def snapshot(self):
        with self.lock:
            return {s: {"requests": c["requests"], "items": c["items"], "bytes": c["bytes"], "seq_distinct": len(c["seqs"])}
                    for s, c in self.by_signal.items()}


def seq_of(attributes):
    for kv in attributes:
        if kv.key == "pipeperf.seq":
            return kv.value.int_value
    return None


def answer(context, args, rejected_field, response):
    if args.status != "OK":
        context.abort(getattr(grpc.StatusCode, args.status), args.message)
    if args.reject:
        ps = response.partial_success
        setattr(ps, rejected_field, args.reject)
        ps.error_message = "rejected by otlp_receiver.py --reject"
    return response


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=4317)
    p.add_argument("--status", default="OK", help="gRPC status name to answer every export with")
    p.add_argument("--message", default="injected by otlp_receiver.py")
    p.add_argument("--reject", type=int, default=0, help="items to reject per request as OTLP partial success")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--no-seq", action="store_true", help="do not collect sequence numbers (cheaper, for benchmarks)")
    p.add_argument("--tls-cert", help="PEM certificate: serve TLS (HTTP/2 with ALPN h2)")
    p.add_argument("--tls-key", help="PEM key of --tls-cert")
    p.add_argument("--stdin-control", action="store_true", help="stop at the end of standard input (for test harnesses)")
    args = p.parse_args()
    if args.status != "OK" and not hasattr(grpc.StatusCode, args.status):
        p.error(f"--status {args.status} is not a gRPC status name")
    counts = Counts()

    class Logs(logs_service_pb2_grpc.LogsServiceServicer):
        def Export(self, request, context):
            n, seqs = 0, []
            for rl in request.resource_logs:
                for sl in rl.scope_logs:
                    n += len(sl.log_records)
                    if not args.no_seq:
                        seqs.extend(s for s in (seq_of(r.attributes) for r in sl.log_records) if s is not None)
            counts.add("logs", n, request.ByteSize(), seqs)
            return answer(context, args, "rejected_log_records", logs_service_pb2.ExportLogsServiceResponse())

    class Traces(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):
            n, seqs = 0, []
            for rs in request.resource_spans:
                for ss in rs.scope_spans:
                    n += len(ss.spans)
                    if not args.no_seq:
                        seqs.extend(s for s in (seq_of(sp.attributes) for sp in ss.spans) if s is not None)
            counts.add("traces", n, request.ByteSize(), seqs)
            return answer(context, args, "rejected_spans", trace_service_pb2.ExportTraceServiceResponse())

    class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
        def Export(self, request, context):
            n, seqs = 0, []
            for rm in request.resource_metrics:
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        kind = m.WhichOneof("data")
                        points = getattr(m, kind).data_points if kind else []
                        n += len(points)
                        if not args.no_seq:
                            seqs.extend(s for s in (seq_of(pt.attributes) for pt in points) if s is not None)
            counts.add("metrics", n, request.ByteSize(), seqs)
            return answer(context, args, "rejected_data_points", metrics_service_pb2.ExportMetricsServiceResponse())

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers),
                         options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), server)
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    if args.tls_cert:
        with open(args.tls_key, "rb") as k, open(args.tls_cert, "rb") as c:
            credentials = grpc.ssl_server_credentials([(k.read(), c.read())])
        port = server.add_secure_port(f"{args.host}:{args.port}", credentials)
    else:
        port = server.add_insecure_port(f"{args.host}:{args.port}")
    if port == 0:
        print(f"otlp_receiver: cannot listen on {args.host}:{args.port}", file=sys.stderr)
        sys.exit(1)
    server.start()
    print(f"listening {args.host}:{port}", flush=True)

    done = threading.Event()
    # A parent may have spawned us with these blocked (some test runners do); we rely on them.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    def stdin_reader():
        for line in sys.stdin:
            if line.strip() == "stats":
                print(json.dumps(counts.snapshot()), flush=True)
        done.set()

    if args.stdin_control:
        threading.Thread(target=stdin_reader, daemon=True).start()
    while not done.wait(0.2):
        pass
    server.stop(grace=1)
    print(json.dumps(counts.snapshot()), flush=True)


if __name__ == "__main__":
    main()
