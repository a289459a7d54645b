"""Append-only side file of completed requests, keyed by request hash.

Every finished request is appended (and flushed) as soon as it completes, so a job killed
mid-way loses at most the requests in flight. On restart the file is read back and only
unfinished requests are sent again. A torn last line (the process died mid-write) is ignored.
The same file doubles as the request cache when an artifact is rebuilt.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


class RequestStore:
    def __init__(self, path: str | os.PathLike, fsync_every: int = 64):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records: dict[str, dict] = {}
        self.torn_lines = 0
        self._load()
        self._fh = self.path.open("a", encoding="utf-8")
        self._unsynced = 0
        self.fsync_every = fsync_every

    def _load(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as fh:
            data = fh.read()
        if data and not data.endswith(b"\n"):
            # A torn tail: truncate it so the next append starts on a fresh line.
            cut = data.rfind(b"\n") + 1
            self.torn_lines += 1
            with self.path.open("r+b") as fh:
                fh.truncate(cut)
            data = data[:cut]
        for line in data.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                self.torn_lines += 1
                continue
            if isinstance(record, dict) and "key" in record:
                self.records[record["key"]] = record
        if self.torn_lines:
            log.warning("%s: ignored %d torn line(s) from an interrupted run", self.path, self.torn_lines)

    def __contains__(self, key: str) -> bool:
        return key in self.records

    def get(self, key: str) -> dict | None:
        return self.records.get(key)

    def add(self, record: dict) -> None:
        self.records[record["key"]] = record
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        self._unsynced += 1
        if self._unsynced >= self.fsync_every:
            os.fsync(self._fh.fileno())
            self._unsynced = 0

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()

    def __enter__(self) -> RequestStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
