#!/usr/bin/env python3
"""An independent OTLP gRPC receiver for tests and benchmarks: grpcio + opentelemetry-proto.

It counts what arrives per signal by parsing every request with opentelemetry-proto (what the reference
framework's Python backend did), and can answer with a chosen gRPC status or an OTLP partial success.
With --http-port it also serves OTLP/HTTP (protobuf POSTs to /v1/logs, /v1/traces, /v1/metrics on
Python's own HTTP/1.1 server, keep-alive, gzip request bodies), answering --http-status.

  python3 otlp_receiver.py --port 0 [--status UNAVAILABLE] [--reject N] [--workers 4]
                           [--http-port 0 [--http-status 503 [--retry-after 2]]]

Prints `listening 127.0.0.1:PORT` on stdout once serving (then `listening-http 127.0.0.1:PORT`). On SIGTERM/SIGINT (with --stdin-control
also at the end of standard input; a line `stats` prints the counts so far) it prints one JSON line
with the counts: {"logs": {"requests", "items", "seq_distinct",
"bytes"}, "traces": {...}, "metrics": {...}}.
"""
import argparse
import gzip
import http.server
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
    p.add_argument("--tls-cert", help="PEM certificate: serve TLS (gRPC with ALPN h2; OTLP/HTTP with http/1.1)")
    p.add_argument("--tls-key", help="PEM key of --tls-cert")
    p.add_argument("--http-port", type=int, help="also serve OTLP/HTTP on this port (0: any free port)")
    p.add_argument("--http-status", type=int, default=200, help="HTTP status to answer every OTLP/HTTP export with")
    p.add_argument("--retry-after", type=int, help="Retry-After seconds sent with --http-status")
    p.add_argument("--stdin-control", action="store_true", help="stop at the end of standard input (for test harnesses)")
    args = p.parse_args()
    if args.status != "OK" and not hasattr(grpc.StatusCode, args.status):
        p.error(f"--status {args.status} is not a gRPC status name")
    counts = Counts()

    def count(signal_name, request, items_per_scope):
        """Counts the items of every scope of every resource, and their pipeperf.seq values."""
        n, seqs = 0, []
        for resource in getattr(request, "resource_" + {"logs": "logs", "traces": "spans", "metrics": "metrics"}[signal_name]):
            for scope in getattr(resource, "scope_" + {"logs": "logs", "traces": "spans", "metrics": "metrics"}[signal_name]):
                items = items_per_scope(scope)
                n += len(items)
                if not args.no_seq:
                    seqs.extend(s for s in (seq_of(item.attributes) for item in items) if s is not None)
        counts.add(signal_name, n, request.ByteSize(), seqs)

    def metric_points(scope):
        points = []
        for m in scope.metrics:
            kind = m.WhichOneof("data")
            points.extend(getattr(m, kind).data_points if kind else [])
        return points

    def count_logs(request):
        count("logs", request, lambda scope: scope.log_records)

    def count_traces(request):
        count("traces", request, lambda scope: scope.spans)

    def count_metrics(request):
        count("metrics", request, metric_points)

    class Logs(logs_service_pb2_grpc.LogsServiceServicer):
        def Export(self, request, context):
            count_logs(request)
            return answer(context, args, "rejected_log_records", logs_service_pb2.ExportLogsServiceResponse())

    class Traces(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):
            count_traces(request)
            return answer(context, args, "rejected_spans", trace_service_pb2.ExportTraceServiceResponse())

    class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
        def Export(self, request, context):
            count_metrics(request)
            return answer(context, args, "rejected_data_points", metrics_service_pb2.ExportMetricsServiceResponse())

    http_routes = {
        "/v1/logs": (logs_service_pb2.ExportLogsServiceRequest, count_logs,
                     logs_service_pb2.ExportLogsServiceResponse, "rejected_log_records"),
        "/v1/traces": (trace_service_pb2.ExportTraceServiceRequest, count_traces,
                       trace_service_pb2.ExportTraceServiceResponse, "rejected_spans"),
        "/v1/metrics": (metrics_service_pb2.ExportMetricsServiceRequest, count_metrics,
                        metrics_service_pb2.ExportMetricsServiceResponse, "rejected_data_points"),
    }

    class OTLPHTTPHandler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive; requests on a connection are read in order

        def log_message(self, *a):
            pass

        def reply(self, status, body=b"", content_type="application/x-protobuf", extra=()):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            data = self.rfile.read(length)
            route = http_routes.get(self.path)
            if route is None:
                return self.reply(404, b"unknown path", "text/plain")
            if self.headers.get("Content-Type") != "application/x-protobuf":
                return self.reply(415, b"want application/x-protobuf", "text/plain")
            if self.headers.get("Content-Encoding") == "gzip":
                data = gzip.decompress(data)
            request_type, count, response_type, rejected_field = route
            request = request_type()
            try:
                request.ParseFromString(data)
            except Exception:
                return self.reply(400, b"cannot parse the request", "text/plain")
            count(request)
            if args.http_status != 200:
                extra = [("Retry-After", str(args.retry_after))] if args.retry_after is not None else []
                return self.reply(args.http_status, b"injected by otlp_receiver.py", "text/plain", extra)
            response = response_type()
            if args.reject:
                setattr(response.partial_success, rejected_field, args.reject)
                response.partial_success.error_message = "rejected by otlp_receiver.py --reject"
            self.reply(200, response.SerializeToString())

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
    http_server = None
    if args.http_port is not None:
        http.server.ThreadingHTTPServer.daemon_threads = True
        http_server = http.server.ThreadingHTTPServer((args.host, args.http_port), OTLPHTTPHandler)
        if args.tls_cert:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(args.tls_cert, args.tls_key)
            ctx.set_alpn_protocols(["http/1.1"])
            http_server.socket = ctx.wrap_socket(http_server.socket, server_side=True)
        threading.Thread(target=http_server.serve_forever, daemon=True).start()
        print(f"listening-http {args.host}:{http_server.server_address[1]}", flush=True)

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
    if http_server is not None:
        http_server.shutdown()
    print(json.dumps(counts.snapshot()), flush=True)


if __name__ == "__main__":
    main()
