#!/usr/bin/env python3
"""Independent decoder for gRPC-framed OTLP export requests (pipeperf test suite).

usage: check_payloads.py --signal logs|traces|metrics [--expect-items N] FILE [FILE ...]

Each FILE holds exactly one gRPC length-prefixed message: a 1-byte compressed flag
(0 or 1), a 4-byte big-endian message length, then the message (gzip when the flag
is 1). The message is parsed with the opentelemetry-proto Python classes
(ExportLogsServiceRequest / ExportTraceServiceRequest / ExportMetricsServiceRequest),
and one JSON object per file is printed on stdout, one per line:

  file, signal, compressed, message_bytes, resources, scopes, items,
  run_ids, tracked, seq_min, seq_max, seq_distinct, sent_ns,
  attributes_per_item, first_item

items are log records, spans, or metric data points (gauge, sum, histogram,
exponential histogram and summary points). Tracking values come from attributes:
the resource attribute "pipeperf.run_id" (string) and the item attributes
"pipeperf.seq" and "pipeperf.sent_ns" (int).

Strict checks, each reported as one line on stderr naming the file, exit status 1:
framing (flag, exact length), gzip, protobuf parse (incl. invalid UTF-8 in string
fields), and unknown fields or wire-type mismatches anywhere in the message (a
conforming OTLP encoder never produces them; the byte offset is reported).
Files that pass are still printed when another file fails.

Dependencies: Python 3.11 standard library + opentelemetry-proto (and protobuf).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
import zlib

try:
    from google.protobuf.descriptor import FieldDescriptor
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
except ImportError as exc:  # pragma: no cover - environment problem
    print(f"check_payloads: cannot import opentelemetry-proto / protobuf: {exc}", file=sys.stderr)
    sys.exit(2)

REQUEST_TYPES = {
    "logs": ExportLogsServiceRequest,
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
}

RUN_ID_KEY = "pipeperf.run_id"
SEQ_KEY = "pipeperf.seq"
SENT_NS_KEY = "pipeperf.sent_ns"

HEADER_BYTES = 5
METRIC_KINDS = ("gauge", "sum", "histogram", "exponential_histogram", "summary")


class PayloadError(Exception):
    """A problem with one file; the message is printed after the file name."""


# --------------------------------------------------------------------------- framing

def unframe(data: bytes) -> tuple[bool, bytes]:
    """Validate the gRPC frame; return (compressed, uncompressed message bytes)."""
    if len(data) < HEADER_BYTES:
        raise PayloadError(
            f"truncated gRPC frame header at byte offset {len(data)}: "
            f"need {HEADER_BYTES} header bytes, file has {len(data)}")
    flag = data[0]
    if flag not in (0, 1):
        raise PayloadError(f"invalid compressed flag 0x{flag:02x} at byte offset 0 (must be 0 or 1)")
    declared = int.from_bytes(data[1:HEADER_BYTES], "big")
    actual = len(data) - HEADER_BYTES
    if declared != actual:
        if declared > actual:
            detail = f"message truncated: file ends at byte offset {len(data)}, expected end at {HEADER_BYTES + declared}"
        else:
            detail = f"{actual - declared} trailing byte(s) starting at byte offset {HEADER_BYTES + declared}"
        raise PayloadError(
            f"frame length mismatch: header (byte offset 1) declares {declared} message bytes, "
            f"but {actual} bytes follow the header at byte offset {HEADER_BYTES} ({detail})")
    body = data[HEADER_BYTES:]
    if flag == 0:
        return False, body
    try:
        return True, gzip.decompress(body)
    except (OSError, EOFError, zlib.error) as exc:
        raise PayloadError(
            f"compressed flag is 1 but the {len(body)}-byte message at byte offset {HEADER_BYTES} "
            f"is not valid gzip: {exc}") from None


# --------------------------------------------------------------------------- wire walk (diagnostics)

_WIRE_TYPE = {}
for _name, _wt in (
    ("DOUBLE", 1), ("FLOAT", 5), ("INT64", 0), ("UINT64", 0), ("INT32", 0), ("FIXED64", 1),
    ("FIXED32", 5), ("BOOL", 0), ("STRING", 2), ("GROUP", 3), ("MESSAGE", 2), ("BYTES", 2),
    ("UINT32", 0), ("ENUM", 0), ("SFIXED32", 5), ("SFIXED64", 1), ("SINT32", 0), ("SINT64", 0),
):
    _WIRE_TYPE[getattr(FieldDescriptor, "TYPE_" + _name)] = _wt


def _is_repeated(field) -> bool:
    if hasattr(field, "is_repeated"):
        return bool(field.is_repeated)
    return field.label == FieldDescriptor.LABEL_REPEATED


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    start, value, shift = pos, 0, 0
    while True:
        if pos >= end:
            raise PayloadError(f"truncated varint at message byte offset {start}")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
        if shift >= 70:
            raise PayloadError(f"varint longer than 10 bytes at message byte offset {start}")


def wire_problem(buf: bytes, start: int, end: int, desc, path: str, unknown_ok: bool = False) -> str | None:
    """Walk the wire format with the schema; describe the first problem found, or None.
    With unknown_ok, unknown fields are skipped so that structural damage is found first."""
    pos = start
    try:
        while pos < end:
            tag_at = pos
            tag, pos = _varint(buf, pos, end)
            number, wt = tag >> 3, tag & 7
            if number == 0:
                return f"field number 0 in {path} at message byte offset {tag_at}"
            length = None
            if wt == 0:
                _, pos = _varint(buf, pos, end)
            elif wt == 1:
                pos += 8
            elif wt == 5:
                pos += 4
            elif wt == 2:
                length, pos = _varint(buf, pos, end)
                value_at = pos
                pos += length
            else:
                return f"unsupported wire type {wt} (field {number}) in {path} at message byte offset {tag_at}"
            if pos > end:
                return (f"field {number} in {path} at message byte offset {tag_at} runs past the end of "
                        f"its enclosing message (byte offset {end})")
            field = desc.fields_by_number.get(number)
            if field is None:
                if unknown_ok:
                    continue
                return f"unknown field {number} (wire type {wt}) in {path} at message byte offset {tag_at}"
            expected = _WIRE_TYPE[field.type]
            packed_ok = wt == 2 and _is_repeated(field) and expected in (0, 1, 5)
            if wt != expected and not packed_ok:
                return (f"field {path}.{field.name} ({number}) has wire type {wt}, expected {expected}, "
                        f"at message byte offset {tag_at}")
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                inner = wire_problem(buf, value_at, value_at + length, field.message_type,
                                     field.message_type.full_name, unknown_ok)
                if inner:
                    return inner
            elif field.type == FieldDescriptor.TYPE_STRING:
                try:
                    buf[value_at:value_at + length].decode("utf-8")
                except UnicodeDecodeError as exc:
                    return (f"invalid UTF-8 in string field {path}.{field.name} at message byte offset "
                            f"{value_at + exc.start}")
    except PayloadError as exc:
        return f"{exc} (in {path})"
    return None


def parse(cls, message: bytes, compressed: bool):
    where = "uncompressed message" if compressed else f"message (file offset = message offset + {HEADER_BYTES})"
    msg = cls()
    try:
        msg.ParseFromString(message)
    except (DecodeError, RuntimeError, ValueError) as exc:
        problem = (wire_problem(message, 0, len(message), cls.DESCRIPTOR, cls.DESCRIPTOR.full_name, True)
                   or wire_problem(message, 0, len(message), cls.DESCRIPTOR, cls.DESCRIPTOR.full_name))
        raise PayloadError(
            f"cannot parse {len(message)}-byte {where} as {cls.DESCRIPTOR.full_name}: "
            f"{problem or exc}") from None
    size = msg.ByteSize()
    msg.DiscardUnknownFields()
    if msg.ByteSize() != size:
        problem = wire_problem(message, 0, len(message), cls.DESCRIPTOR, cls.DESCRIPTOR.full_name)
        raise PayloadError(
            f"{where} carries unknown fields or mismatched wire types: "
            f"{problem or 'location not found'}")
    return msg


# --------------------------------------------------------------------------- values

def _json_float(x: float):
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def any_value(v):
    """AnyValue -> plain Python / JSON value (bytes as hex string)."""
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "int_value":
        return v.int_value
    if kind == "double_value":
        return _json_float(v.double_value)
    if kind == "bytes_value":
        return v.bytes_value.hex()
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return attributes_dict(v.kvlist_value.values)
    return {kind: getattr(v, kind)}  # e.g. string_value_strindex (profiles only)


def attributes_dict(kvs) -> dict:
    return {kv.key: any_value(kv.value) for kv in kvs}


def int_attribute(kvs, key: str):
    for kv in kvs:
        if kv.key == key and kv.value.WhichOneof("value") == "int_value":
            return kv.value.int_value
    return None


# --------------------------------------------------------------------------- signals

def walk_logs(req):
    for rl in req.resource_logs:
        yield "resource", rl.resource
        for sl in rl.scope_logs:
            yield "scope", sl
            for rec in sl.log_records:
                yield "item", (rec, None)


def walk_traces(req):
    for rs in req.resource_spans:
        yield "resource", rs.resource
        for ss in rs.scope_spans:
            yield "scope", ss
            for span in ss.spans:
                yield "item", (span, None)


def walk_metrics(req):
    for rm in req.resource_metrics:
        yield "resource", rm.resource
        for sm in rm.scope_metrics:
            yield "scope", sm
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                if kind not in METRIC_KINDS:
                    continue
                for point in getattr(metric, kind).data_points:
                    yield "item", (point, (metric.name, kind))


WALKERS = {"logs": walk_logs, "traces": walk_traces, "metrics": walk_metrics}


def describe_first(signal: str, item, extra) -> dict:
    attrs = attributes_dict(item.attributes)
    if signal == "logs":
        body = item.body.string_value if item.body.WhichOneof("value") == "string_value" else None
        return {
            "time_unix_nano": item.time_unix_nano,
            "observed_time_unix_nano": item.observed_time_unix_nano,
            "severity_number": int(item.severity_number),
            "severity_text": item.severity_text,
            "body": body,
            "attributes": attrs,
        }
    if signal == "traces":
        return {
            "trace_id": item.trace_id.hex(),
            "span_id": item.span_id.hex(),
            "name": item.name,
            "kind": int(item.kind),
            "start_time_unix_nano": item.start_time_unix_nano,
            "end_time_unix_nano": item.end_time_unix_nano,
            "attributes": attrs,
        }
    name, kind = extra
    return {
        "metric_name": name,
        "metric_kind": kind,
        "time_unix_nano": item.time_unix_nano,
        "start_time_unix_nano": item.start_time_unix_nano,
        "attributes": attrs,
    }


def summarize(path: str, signal: str, compressed: bool, message: bytes, req) -> dict:
    resources = scopes = items = tracked = 0
    run_ids: set[str] = set()
    seqs: list[int] = []
    sent: set[int] = set()
    per_item: list[int] = []
    first = None
    for what, obj in WALKERS[signal](req):
        if what == "resource":
            resources += 1
            for kv in obj.attributes:
                if kv.key == RUN_ID_KEY and kv.value.WhichOneof("value") == "string_value":
                    run_ids.add(kv.value.string_value)
        elif what == "scope":
            scopes += 1
        else:
            item, extra = obj
            items += 1
            per_item.append(len(item.attributes))
            seq = int_attribute(item.attributes, SEQ_KEY)
            if seq is not None:
                tracked += 1
                seqs.append(seq)
            sent_ns = int_attribute(item.attributes, SENT_NS_KEY)
            if sent_ns is not None:
                sent.add(sent_ns)
            if first is None:
                first = describe_first(signal, item, extra)
    return {
        "file": path,
        "signal": signal,
        "compressed": compressed,
        "message_bytes": len(message),
        "resources": resources,
        "scopes": scopes,
        "items": items,
        "run_ids": sorted(run_ids),
        "tracked": tracked,
        "seq_min": min(seqs) if seqs else None,
        "seq_max": max(seqs) if seqs else None,
        "seq_distinct": len(set(seqs)),
        "sent_ns": sorted(sent),
        "attributes_per_item": per_item,
        "first_item": first,
    }


def check_file(path: str, signal: str) -> dict:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise PayloadError(f"cannot read file: {exc.strerror or exc}") from None
    compressed, message = unframe(data)
    req = parse(REQUEST_TYPES[signal], message, compressed)
    return summarize(path, signal, compressed, message, req)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description="Validate gRPC-framed OTLP export requests and print one JSON summary per file.")
    ap.add_argument("--signal", required=True, choices=sorted(REQUEST_TYPES))
    ap.add_argument("--expect-items", type=int, metavar="N",
                    help="fail unless every file holds exactly N items")
    ap.add_argument("files", nargs="+", metavar="FILE")
    args = ap.parse_args(argv)

    failed = False
    for path in args.files:
        try:
            summary = check_file(path, args.signal)
        except PayloadError as exc:
            print(f"check_payloads: {path}: {exc}", file=sys.stderr)
            failed = True
            continue
        print(json.dumps(summary), flush=True)
        if args.expect_items is not None and summary["items"] != args.expect_items:
            print(f"check_payloads: {path}: expected {args.expect_items} {args.signal} items, "
                  f"found {summary['items']}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
