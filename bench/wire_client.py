"""Streamlit wire-protocol client: what a browser tab sends and receives, without rendering."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import urllib.request

MEDIA = re.compile(rb"/media/[0-9a-f]{16,}\.[a-z]+")
STEP = re.compile(
    rb"([0-9][0-9,]*) / [0-9][0-9,]*"
)  # the live page's "Step" metric: "1,234 / 3,000"


class WireClient:
    def __init__(self, base: str, page: str, query: str):
        self.base, self.page, self.query = base, page, query
        self.messages = self.deltas = self.reruns = self.media = 0
        self.bytes = 0
        self.steps_seen: list[tuple[float, int]] = []  # (time, step) at each new step counter
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def close(self):
        self._stop.set()
        self.thread.join(10)

    def _main(self):
        try:
            asyncio.run(self._run())
        except BaseException as e:  # reported by the caller
            self.error = e

    async def _run(self):
        import websockets
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        ws_url = self.base.replace("http", "ws", 1) + "/_stcore/stream"
        page_hash = ""
        timers: dict[str, asyncio.Task] = {}

        async with websockets.connect(
            ws_url, subprotocols=["streamlit"], origin=self.base, max_size=None
        ) as ws:

            async def rerun(fragment_id: str = "", auto: bool = False):
                msg = BackMsg()
                cs = msg.rerun_script
                cs.query_string = self.query
                cs.page_name = self.page
                if page_hash:
                    cs.page_script_hash = page_hash
                cs.widget_states.SetInParent()
                if fragment_id:
                    cs.fragment_id = fragment_id
                    cs.is_auto_rerun = auto
                await ws.send(msg.SerializeToString())
                self.reruns += 1

            async def every(interval: float, fid: str):
                while not self._stop.is_set():
                    await asyncio.sleep(interval)
                    await rerun(fid, auto=True)

            async def watch_stop():
                while not self._stop.is_set():
                    await asyncio.sleep(0.2)
                await ws.close()

            stopper = asyncio.create_task(watch_stop())
            await rerun()
            try:
                async for raw in ws:
                    self.messages += 1
                    self.bytes += len(raw)
                    msg = ForwardMsg()
                    msg.ParseFromString(raw)
                    kind = msg.WhichOneof("type")
                    if kind == "new_session":
                        page_hash = msg.new_session.page_script_hash
                    elif kind == "delta":
                        self.deltas += 1
                        if b"Step" in raw:
                            self._note_step(raw)
                        for url in set(MEDIA.findall(raw)):
                            await asyncio.to_thread(self._fetch, url.decode())
                    elif kind == "auto_rerun":
                        fid = msg.auto_rerun.fragment_id
                        if fid in timers:
                            timers.pop(fid).cancel()
                        timers[fid] = asyncio.create_task(every(msg.auto_rerun.interval, fid))
                    elif kind == "stop_auto_rerun":
                        for fid in msg.stop_auto_rerun.fragment_ids or list(timers):
                            t = timers.pop(fid, None)
                            if t:
                                t.cancel()
            except websockets.ConnectionClosed:
                pass
            finally:
                for t in timers.values():
                    t.cancel()
                stopper.cancel()

    def _note_step(self, raw: bytes) -> None:
        m = STEP.search(raw)
        if m:
            step = int(m.group(1).replace(b",", b""))
            if not self.steps_seen or self.steps_seen[-1][1] != step:
                self.steps_seen.append((time.time(), step))

    def updates_per_s(self, t0: float, t1: float) -> float:
        """New step counters this viewer received per second between t0 and t1."""
        return sum(1 for t, _ in self.steps_seen if t0 <= t <= t1) / max(t1 - t0, 1e-9)

    def _fetch(self, path: str):
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            r.read()
        self.media += 1
