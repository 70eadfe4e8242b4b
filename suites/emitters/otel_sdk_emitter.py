#!/usr/bin/env python3
"""pipeperf's OpenTelemetry SDK emitter: real SDK traffic as a load source (the `sdk` execution).

  python3 otel_sdk_emitter.py --endpoint 127.0.0.1:4317 --protocol grpc --signal logs --rate 2000 \
      --run-id 00000000000000a1 --summary out.json

Emits log records (through the SDK's Logs API: LoggerProvider, BatchLogRecordProcessor, the OTLP log
exporter) or spans (TracerProvider, BatchSpanProcessor, the OTLP span exporter) at --rate per second,
open loop: record k is due at start + k / rate, and when the emitter falls behind it emits late rather
than skipping. Every record carries pipeperf's tracking attributes (docs/tracking.md): the resource
attribute pipeperf.run_id and the item attributes pipeperf.seq (0, 1, ...), pipeperf.sent_ns (when it
was handed to the SDK) and pipeperf.intended_ns (when it was due), so a fake-backend measures loss and
end-to-end latency of what the SDK exported (its batching included).

Runs until SIGTERM (or --duration); then stops emitting, flushes the batch processor, shuts the provider
down and writes the summary: {"offered": N, "exported": N, "failed": N, "exports": N,
"failed_exports": N, "duration_s": F, ...} — offered records, records in successful and in failed
exports (counted by wrapping the exporter), and the time the emitting took.
"""
import argparse
import json
import signal
import sys
import threading
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", required=True, help="HOST:PORT of the OTLP receiver")
    p.add_argument("--protocol", choices=["grpc", "http"], default="grpc")
    p.add_argument("--signal", choices=["logs", "traces"], default="logs")
    p.add_argument("--rate", type=float, required=True, help="records per second (open loop)")
    p.add_argument("--run-id", required=True, help="16 hexadecimal digits (pipeperf.run_id)")
    p.add_argument("--summary", required=True, help="where to write the JSON summary")
    p.add_argument("--duration", type=float, default=0, help="seconds (0: until SIGTERM)")
    p.add_argument("--max-export-batch-size", type=int, default=512)
    p.add_argument("--schedule-delay-ms", type=int, default=1000)
    p.add_argument("--max-queue-size", type=int, default=2048)
    p.add_argument("--body-bytes", type=int, default=100, help="size of each log body")
    args = p.parse_args()
    if len(args.run_id) != 16 or any(c not in "0123456789abcdefABCDEF" for c in args.run_id):
        p.error(f"--run-id must be 16 hexadecimal digits (got {args.run_id!r})")
    if args.rate <= 0:
        p.error(f"--rate must be above 0 (got {args.rate})")

    from opentelemetry.sdk.resources import Resource

    counts = {"exported": 0, "failed": 0, "exports": 0, "failed_exports": 0}
    lock = threading.Lock()

    def counted(exporter_class):
        """The exporter, counting the records of each export by its result (SUCCESS or FAILURE; the
        result enum's class differs between SDK releases, its member names do not)."""

        class Counted(exporter_class):
            def export(self, batch):
                result = super().export(batch)
                with lock:
                    if getattr(result, "name", "") == "SUCCESS":
                        counts["exported"] += len(batch)
                        counts["exports"] += 1
                    else:
                        counts["failed"] += len(batch)
                        counts["failed_exports"] += 1
                return result

        return Counted

    resource = Resource.create({"pipeperf.run_id": args.run_id.lower(), "service.name": "pipeperf-sdk-emitter"})
    grpc = args.protocol == "grpc"

    def exporter(grpc_class, http_class, path):
        """The OTLP exporter of the chosen protocol, counting what it exports."""
        Exporter = counted(grpc_class if grpc else http_class)
        return Exporter(endpoint=f"http://{args.endpoint}", insecure=True) if grpc else Exporter(
            endpoint=f"http://{args.endpoint}{path}")

    batching = dict(max_export_batch_size=args.max_export_batch_size,
                    schedule_delay_millis=args.schedule_delay_ms, max_queue_size=args.max_queue_size)
    if args.signal == "logs":
        from opentelemetry._logs import LogRecord, SeverityNumber
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GRPCLogs
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HTTPLogs
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
        provider = LoggerProvider(resource=resource)
        provider.add_log_record_processor(
            BatchLogRecordProcessor(exporter(GRPCLogs, HTTPLogs, "/v1/logs"), **batching))
        logger = provider.get_logger("pipeperf.sdk")
        body = "x" * args.body_bytes

        def emit(seq, due_ns):
            now = time.time_ns()
            logger.emit(LogRecord(
                timestamp=now, observed_timestamp=now, severity_number=SeverityNumber.INFO, severity_text="INFO",
                body=body,
                attributes={"pipeperf.seq": seq, "pipeperf.sent_ns": now, "pipeperf.intended_ns": due_ns}))
    else:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GRPCSpans
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPSpans
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(exporter(GRPCSpans, HTTPSpans, "/v1/traces"), **batching))
        tracer = provider.get_tracer("pipeperf.sdk")

        def emit(seq, due_ns):
            now = time.time_ns()
            tracer.start_span(
                "pipeperf", attributes={"pipeperf.seq": seq, "pipeperf.sent_ns": now, "pipeperf.intended_ns": due_ns}
            ).end()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    interval_ns = 1e9 / args.rate
    start_ns = time.time_ns()
    end_ns = start_ns + int(args.duration * 1e9) if args.duration > 0 else None
    seq = 0
    late = 0
    while not stop.is_set():
        now = time.time_ns()
        if end_ns is not None and now >= end_ns:
            break
        # Every record due by now, in order (open loop: a late emitter catches up, it does not skip).
        due = start_ns + int(seq * interval_ns)
        if due > now:
            stop.wait(min((due - now) / 1e9, 0.01))
            continue
        burst = 0
        while due <= now and burst < 1000:
            if now - due > 10_000_000:
                late += 1
            emit(seq, due)
            seq += 1
            burst += 1
            due = start_ns + int(seq * interval_ns)
    emitted_s = (time.time_ns() - start_ns) / 1e9
    flushed = provider.force_flush(30_000)
    provider.shutdown()
    with lock:
        summary = dict(counts)
    summary.update({
        "signal": args.signal, "protocol": args.protocol, "endpoint": args.endpoint, "run_id": args.run_id.lower(),
        "target_rate": args.rate, "offered": seq, "late": late, "duration_s": round(emitted_s, 3),
        "achieved_rate": round(seq / emitted_s, 1) if emitted_s > 0 else 0, "flushed": bool(flushed),
    })
    with open(args.summary, "w") as f:
        json.dump(summary, f)
        f.write("\n")
    sys.exit(0 if flushed else 1)


if __name__ == "__main__":
    main()
