#!/usr/bin/env python3
"""An independent OTLP gRPC sender for tests: grpcio + opentelemetry-proto.

  python3 otlp_send.py --endpoint 127.0.0.1:4317 --signal logs --requests 10 --items 50 [--gzip]

Builds each request with the opentelemetry-proto classes, calls Export, and prints one JSON line:
{"ok": N, "errors": {"UNAVAILABLE": N, ...}, "rejected": N, "items": N}.
"""
import argparse
import json

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2


def attrs(i):
    return [common_pb2.KeyValue(key="pipeperf.seq", value=common_pb2.AnyValue(int_value=i)),
            common_pb2.KeyValue(key="k", value=common_pb2.AnyValue(string_value="v"))]


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


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--signal", choices=["logs", "traces", "metrics"], default="logs")
    p.add_argument("--requests", type=int, default=10)
    p.add_argument("--items", type=int, default=50)
    p.add_argument("--gzip", action="store_true")
    args = p.parse_args()
    channel = grpc.insecure_channel(args.endpoint)
    stub = {"logs": logs_service_pb2_grpc.LogsServiceStub, "traces": trace_service_pb2_grpc.TraceServiceStub,
            "metrics": metrics_service_pb2_grpc.MetricsServiceStub}[args.signal](channel)
    out = {"ok": 0, "errors": {}, "rejected": 0, "items": 0}
    compression = grpc.Compression.Gzip if args.gzip else grpc.Compression.NoCompression
    for r in range(args.requests):
        req, field = build(args.signal, r * args.items, args.items)
        try:
            resp = stub.Export(req, timeout=10, compression=compression)
            out["ok"] += 1
            out["items"] += args.items
            out["rejected"] += getattr(resp.partial_success, field)
        except grpc.RpcError as e:
            name = e.code().name
            out["errors"][name] = out["errors"].get(name, 0) + 1
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
