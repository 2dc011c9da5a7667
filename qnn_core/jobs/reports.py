"""How a job on a Ray cluster tells the app what happened: structured lines in its own log.

The app's SQLite file and runs folder are not reachable from the cluster's nodes; the one channel
both sides have is Ray itself. Ray keeps every job's output and serves it through the same Job
Submission API the app submits with (`JobSubmissionClient.get_job_logs`), whichever node ran the
job, also after it ended and after an app restart. So the worker prints each event as one line,

    @qnn-job {"kind": "progress", "event": {...}, "progress": 0.48}

among its ordinary log lines, and the app parses the log whenever it reconciles: `progress`
events become metrics rows, `result` the job's test result, `started` where it runs, `failed` /
`stopped` how it ended. The checkpoint comes the same way: a `checkpoint` header with the path
the worker wrote (on its node), the size and the sha256, then base64 `chunk` lines; the app
joins them, checks size and digest, and only then writes the file (atomically) into the job's
folder. A torn or missing chunk fails the job with a message; it never leaves a bad checkpoint.

Not taken: a shared path (the nodes do not mount the app's disk), Ray's object store (the app
would have to join the cluster as a driver, over Ray's client port and with its exact version
on both sides), and an object store such as S3 (one more service and its credentials to run).
The cost is log volume: a demo model's checkpoint is 1.3 MB (1.8 MB of log), the largest 11 MB.
The API returns a log whole, so the app reads it on each look while the job runs (a few KB of
progress lines) and once more, with the checkpoint, after it ended.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARK = "@qnn-job "
CHUNK_BYTES = 48 * 1024  # 64 KiB of base64 per log line


class TransferError(ValueError):
    """The checkpoint in a job's log is missing, incomplete or not the bytes the worker hashed."""


def line(kind: str, **data: Any) -> str:
    """One report as a log line (a single line: JSON escapes any newline inside a value)."""
    return MARK + json.dumps({"kind": kind, **data}, separators=(",", ":"))


def emit(kind: str, **data: Any) -> None:
    print(line(kind, **data), flush=True)


def checkpoint_lines(path: str | Path) -> Iterator[str]:
    """The header, then the file's bytes in base64 chunks."""
    data = Path(path).read_bytes()
    chunks = [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]
    yield line(
        "checkpoint", path=str(path), size=len(data), sha256=hashlib.sha256(data).hexdigest(), chunks=len(chunks)
    )
    for i, chunk in enumerate(chunks):
        yield line("chunk", i=i, data=base64.b64encode(chunk).decode("ascii"))


def emit_checkpoint(path: str | Path) -> None:
    for text in checkpoint_lines(path):
        print(text, flush=True)


@dataclass
class Log:
    """A job's log split into what a person reads and the reports, each in order."""

    text: list[str] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.reports if r.get("kind") == kind]

    def last(self, kind: str) -> dict[str, Any] | None:
        found = self.of(kind)
        return found[-1] if found else None

    def checkpoint(self) -> tuple[bytes, dict[str, Any]]:
        """The checkpoint's bytes and header, verified; TransferError says what is wrong."""
        starts = [i for i, r in enumerate(self.reports) if r.get("kind") == "checkpoint"]
        if not starts:
            raise TransferError("The job ended without sending its checkpoint.")
        header = self.reports[starts[-1]]
        chunks: dict[int, str] = {}
        for r in self.reports[starts[-1] + 1 :]:
            if r.get("kind") == "chunk":
                chunks[int(r["i"])] = r["data"]
        missing = [i for i in range(header["chunks"]) if i not in chunks]
        if missing:
            raise TransferError(
                f"The checkpoint arrived incomplete: {len(missing)} of {header['chunks']} "
                "chunks are missing from the job's log."
            )
        try:
            data = b"".join(base64.b64decode(chunks[i], validate=True) for i in range(header["chunks"]))
        except (binascii.Error, ValueError):
            raise TransferError("The checkpoint arrived damaged: a chunk in the job's log is not base64.") from None
        digest = hashlib.sha256(data).hexdigest()
        if len(data) != header["size"] or digest != header["sha256"]:
            raise TransferError(
                f"The checkpoint arrived damaged: {len(data):,} bytes with sha256 {digest[:12]}…, "
                f"the worker sent {header['size']:,} bytes with sha256 {header['sha256'][:12]}…."
            )
        return data, header


def parse(text: str) -> Log:
    """Split a log; a marked line that is not valid JSON (torn) counts as text, never as a report."""
    log = Log()
    for raw in text.splitlines():
        at = raw.find(MARK)  # not only at the start: a launcher may prefix lines (torchrun's "[rank0]:")
        if at >= 0:
            try:
                report = json.loads(raw[at + len(MARK) :])
            except json.JSONDecodeError:
                report = None
            if isinstance(report, dict):
                log.reports.append(report)
                continue
        log.text.append(raw)
    return log
