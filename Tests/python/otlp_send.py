#!/usr/bin/env python3
"""An independent OTLP gRPC sender for tests: grpcio + opentelemetry-proto.

  python3 otlp_send.py --endpoint 127.0.0.1:4317 --signal logs --requests 10 --items 50 [--gzip]
  python3 otlp_send.py --endpoint 127.0.0.1:4318 --http ...      (OTLP/HTTP with Python's http.client)
  python3 otlp_send.py --endpoint ... --raw-hex 0a0b0c           (one request whose body is these bytes)

Builds each request with the opentelemetry-proto classes, calls Export, and prints one JSON line:
{"ok": N, "errors": {"UNAVAILABLE": N, ...}, "rejected": N, "items": N, "retry_delays": [seconds, ...],
"min_latency_ms": F, "max_latency_ms": F, "messages": [...]}. Over HTTP, errors are named HTTP_<status>
and retry delays come from Retry-After; over gRPC from the RetryInfo in grpc-status-details-bin.
"""
import argparse
import gzip
import http.client
import json
import time

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2


def attrs(i):
    return [common_pb2.KeyValue(key="pipeperf.seq", value=common_pb2.AnyValue(int_value=i)),
            common_pb2.KeyValue(key="k", value=common_pb2.AnyValue(string_value="v"))]


def retry_delay(error):
    """RetryInfo.retry_delay seconds from a gRPC error's grpc-status-details-bin, or None."""
    from google.rpc import error_details_pb2, status_pb2
    for key, value in (error.trailing_metadata() or ()):
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                    info = error_details_pb2.RetryInfo()
                    detail.Unpack(info)
                    return info.retry_delay.seconds
    return None


def build(signal, first, n):
    if signal == "logs":
        req = logs_service_pb2.ExportLogsServiceRequest()
        sl = req.resource_logs.add().scope_logs.add()
        for i in range(first, first + n):
            r = sl.log_records.add(time_unix_nano=1, severity_number=9)
            r.body.string_value = f"log {i}"
            r.attributes.extend(attrs(i))
        return req, "rejected_log_records"
    if signal == "traces":
        req = trace_service_pb2.ExportTraceServiceRequest()
        ss = req.resource_spans.add().scope_spans.add()
        for i in range(first, first + n):
            s = ss.spans.add(trace_id=bytes(16), span_id=i.to_bytes(8, "big"), name=f"span {i}", start_time_unix_nano=1,
                             end_time_unix_nano=2)
            s.attributes.extend(attrs(i))
        return req, "rejected_spans"
    req = metrics_service_pb2.ExportMetricsServiceRequest()
    sm = req.resource_metrics.add().scope_metrics.add()
    m = sm.metrics.add(name="g")
    for i in range(first, first + n):
        p = m.gauge.data_points.add(time_unix_nano=1, as_int=i)
        p.attributes.extend(attrs(i))
    return req, "rejected_data_points"


RESPONSES = {"logs": logs_service_pb2.ExportLogsServiceResponse, "traces": trace_service_pb2.ExportTraceServiceResponse,
             "metrics": metrics_service_pb2.ExportMetricsServiceResponse}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--signal", choices=["logs", "traces", "metrics"], default="logs")
    p.add_argument("--requests", type=int, default=10)
    p.add_argument("--items", type=int, default=50)
    p.add_argument("--first-seq", type=int, default=0)
    p.add_argument("--gzip", action="store_true")
    p.add_argument("--http", action="store_true", help="OTLP/HTTP instead of gRPC")
    p.add_argument("--raw-hex", help="send one request whose message is these bytes (malformed-input tests)")
    p.add_argument("--path", help="override the gRPC method or HTTP path")
    p.add_argument("--tls-ca", help="gRPC over TLS, trusting this PEM CA file")
    args = p.parse_args()
    out = {"ok": 0, "errors": {}, "rejected": 0, "items": 0, "retry_delays": [], "messages": []}
    latencies = []
    bodies = []
    if args.raw_hex is not None:
        bodies.append((bytes.fromhex(args.raw_hex), 0, None))
    else:
        for r in range(args.requests):
            req, field = build(args.signal, args.first_seq + r * args.items, args.items)
            bodies.append((req.SerializeToString(), args.items, field))

    def fail(name, message, delay):
        out["errors"][name] = out["errors"].get(name, 0) + 1
        if message and message not in out["messages"]:
            out["messages"].append(message)
        if delay is not None:
            out["retry_delays"].append(delay)

    if args.http:
        host, port = args.endpoint.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        path = args.path or "/v1/" + args.signal
        for body, n, field in bodies:
            headers = {"Content-Type": "application/x-protobuf"}
            if args.gzip:
                body = gzip.compress(body)
                headers["Content-Encoding"] = "gzip"
            start = time.monotonic()
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except OSError as e:  # refused, reset, closed without an answer
                latencies.append(time.monotonic() - start)
                fail("CONNECTION_ERROR", type(e).__name__, None)
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                continue
            latencies.append(time.monotonic() - start)
            if resp.status == 200:
                out["ok"] += 1
                out["items"] += n
                if field:
                    out["rejected"] += getattr(RESPONSES[args.signal].FromString(data).partial_success, field)
            else:
                from google.rpc import status_pb2
                try:
                    message = status_pb2.Status.FromString(data).message
                except Exception:
                    message = data.decode("utf-8", "replace")
                retry = resp.getheader("Retry-After")
                fail(f"HTTP_{resp.status}", message, int(retry) if retry else None)
    else:
        if args.tls_ca:
            with open(args.tls_ca, "rb") as f:
                channel = grpc.secure_channel(args.endpoint, grpc.ssl_channel_credentials(root_certificates=f.read()))
        else:
            channel = grpc.insecure_channel(args.endpoint)
        method = args.path or {"logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                               "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                               "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"}[args.signal]
        call = channel.unary_unary(method, request_serializer=lambda b: b, response_deserializer=lambda b: b)
        compression = grpc.Compression.Gzip if args.gzip else grpc.Compression.NoCompression
        for body, n, field in bodies:
            start = time.monotonic()
            try:
                data = call(body, timeout=10, compression=compression)
                latencies.append(time.monotonic() - start)
                out["ok"] += 1
                out["items"] += n
                if field:
                    out["rejected"] += getattr(RESPONSES[args.signal].FromString(data).partial_success, field)
            except grpc.RpcError as e:
                latencies.append(time.monotonic() - start)
                fail(e.code().name, e.details(), retry_delay(e))
    out["min_latency_ms"] = min(latencies) * 1000 if latencies else 0
    out["max_latency_ms"] = max(latencies) * 1000 if latencies else 0
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
