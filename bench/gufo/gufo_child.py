"""
One measured gufo-liftbridge run (the seed's Python client), in its own process (pinned by the
caller), the counterpart of bench/publish/publish-child.ts and bench/subscribe/catch-up-child.ts:

  python gufo_child.py publish <broker> <stream> <count> <size>
  python gufo_child.py subscribe <broker> <stream> <count>

publish: `publish_bulk(requests, wait=True)` (gufo's bulk publishing: requests generated lazily,
sent on one PublishAsync call, acks streamed back), after an unmeasured warm-up of 2000 messages.
subscribe: `subscribe(stream, partition=0, start_position=EARLIEST)` read until offset count-1.
Prints one JSON line: msgs, seconds, msgPerSec, cpuUsPerMsg (getrusage user+sys over the measured
part), maxRssMb, and the checks (an ack per message with contiguous offsets; every offset once, in order).
"""

import asyncio
import json
import resource
import sys
import time

from gufo.liftbridge.client import LiftbridgeClient
from gufo.liftbridge.types import StartPosition

WARMUP = 2000


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def publish(broker: str, stream: str, count: int, size: int) -> dict:
    value = bytes(97 + (i % 26) for i in range(size))
    async with LiftbridgeClient([broker]) as client:
        warm = (client.get_publish_request(value, stream=stream, partition=0) for _ in range(WARMUP))
        async for _ in client.publish_bulk(warm, wait=True):
            pass
        acks = 0
        expected = WARMUP
        in_order = True
        started, cpu0 = time.perf_counter(), cpu_seconds()
        requests = (client.get_publish_request(value, stream=stream, partition=0) for _ in range(count))
        async for response in client.publish_bulk(requests, wait=True):
            # publish_bulk yields the PublishResponse: the Ack is its `ack` field.
            if response.HasField("asyncError") or response.ack.offset != expected:
                in_order = False
            expected += 1
            acks += 1
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
    return {"acks": acks, "ok": acks == count and in_order, "seconds": seconds, "cpu": cpu, "msgs": count}


async def subscribe(broker: str, stream: str, count: int) -> dict:
    async with LiftbridgeClient([broker]) as client:
        started, cpu0 = time.perf_counter(), cpu_seconds()
        expected = 0
        in_order = True
        async for msg in client.subscribe(stream, partition=0, start_position=StartPosition.EARLIEST):
            if msg.offset != expected:
                in_order = False
            expected += 1
            if msg.offset >= count - 1:
                break
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
    return {"ok": in_order and expected == count, "seconds": seconds, "cpu": cpu, "msgs": expected}


def main() -> None:
    mode, broker, stream = sys.argv[1:4]
    count = int(sys.argv[4])
    if mode == "publish":
        r = asyncio.run(publish(broker, stream, count, int(sys.argv[5])))
    else:
        r = asyncio.run(subscribe(broker, stream, count))
    r["msgPerSec"] = r["msgs"] / r["seconds"]
    r["cpuUsPerMsg"] = r["cpu"] * 1e6 / max(1, r["msgs"])
    r["maxRssMb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(r))


if __name__ == "__main__":
    main()
