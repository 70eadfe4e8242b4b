#!/usr/bin/env python3
"""Emits logs and spans with the OpenTelemetry Python SDK and its OTLP exporters (gRPC or HTTP): an
independent, real-world sender for the sinks' tests.

  python3 otel_sdk_send.py --endpoint 127.0.0.1:4317 --protocol grpc --logs 500 --spans 300

Uses the SDK's batch processors as an application would, flushes, shuts down, and prints one JSON line
{"logs": N, "spans": M, "flushed": true}. Exits 1 when a flush did not complete.
"""
import argparse
import json
import logging
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", required=True, help="HOST:PORT")
    p.add_argument("--protocol", choices=["grpc", "http"], default="grpc")
    p.add_argument("--logs", type=int, default=100)
    p.add_argument("--spans", type=int, default=100)
    args = p.parse_args()

    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    if args.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        log_exporter = OTLPLogExporter(endpoint=f"http://{args.endpoint}", insecure=True)
        span_exporter = OTLPSpanExporter(endpoint=f"http://{args.endpoint}", insecure=True)
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        log_exporter = OTLPLogExporter(endpoint=f"http://{args.endpoint}/v1/logs")
        span_exporter = OTLPSpanExporter(endpoint=f"http://{args.endpoint}/v1/traces")

    resource = Resource.create({"service.name": "pipeperf-sdk-test"})
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(log_exporter, max_export_batch_size=128))
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter, max_export_batch_size=128))

    logger = logging.getLogger("pipeperf.sdk")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))
    for i in range(args.logs):
        logger.info("sdk log %d", i)
    tracer = tracer_provider.get_tracer("pipeperf.sdk")
    for i in range(args.spans):
        with tracer.start_as_current_span(f"span {i}"):
            pass
    flushed = logger_provider.force_flush(30_000) and tracer_provider.force_flush(30_000)
    logger_provider.shutdown()
    tracer_provider.shutdown()
    print(json.dumps({"logs": args.logs, "spans": args.spans, "flushed": bool(flushed)}), flush=True)
    sys.exit(0 if flushed else 1)


if __name__ == "__main__":
    main()
