"""A load publisher for the ingest benchmark, run as its own process (`python -m bench.publisher`).

It publishes register readings of `--meters` meters with QoS 1, one per message
or `--array` per message, as fast as the broker takes them or paced at `--rate`
messages per second. Readings carry a global `seq`; with `--now-ts` their `ts`
is the moment of publishing (for latency), otherwise one synthetic second per
round of meters (so every meter + ts is unique at any rate). Payloads are
serialised with orjson, so that the load generator takes as little of the shared
machine as it can (a gateway does not spend a Python interpreter's time on it).

paho's in-flight window is unlimited by default here (`--inflight 0`): with a window,
paho looks for the next queued message from the start of all its unacknowledged ones
on every acknowledgement, so a window of 1,000 stalled the publisher for 50-450 ms
after each thousand messages (a third of a 20,000-message run). Without a window, a
flood can get ahead of the broker's acknowledgements by all 65,535 message ids; paho
then refuses the next message (`MQTT_ERR_QUEUE_SIZE`), and the publisher waits and
sends it again rather than lose it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

TOPIC = "waterline/v1/readings/bench-gw"


def readings(count: int, meters: int, now_ts: bool, start_s: float):
    for seq in range(count):
        meter, round_ = seq % meters, seq // meters
        ts = int(time.time() * 1000) if now_ts else int((start_s + round_) * 1000)
        yield {"meter_id": f"bench-{meter:04d}", "ts": ts, "quantity": "volume",
               "value": 100_000.0 + round_ * 12.5 + meter, "unit": "L", "seq": seq}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True, help="readings to publish")
    parser.add_argument("--array", type=int, default=1, help="readings per message (1 = single)")
    parser.add_argument("--meters", type=int, default=500)
    parser.add_argument("--rate", type=float, default=0.0, help="messages per second (0 = flat out)")
    parser.add_argument("--now-ts", action="store_true")
    parser.add_argument("--topic", default=TOPIC)
    parser.add_argument("--inflight", type=int, default=0,
                        help="QoS 1 messages unacknowledged at once (0 = no limit)")
    args = parser.parse_args(argv)

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-publisher-{time.time_ns()}")
    client.max_inflight_messages_set(args.inflight)
    client.connect(args.host, args.port, keepalive=60)
    client.loop_start()
    start_s = time.time() - args.count // args.meters - 1
    source = readings(args.count, args.meters, args.now_ts, start_s)
    started = time.perf_counter()
    sent = 0
    last = None
    while sent < args.count:
        n = min(args.array, args.count - sent)
        batch = [next(source) for _ in range(n)]
        payload = orjson.dumps(batch[0] if args.array == 1 else batch)
        last = client.publish(args.topic, payload, qos=1)
        while last.rc == mqtt.MQTT_ERR_QUEUE_SIZE:  # all 65,535 message ids unacknowledged: wait for the broker
            time.sleep(0.001)
            last = client.publish(args.topic, payload, qos=1)
        sent += n
        if args.rate:
            delay = started + (sent / args.array) / args.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
    if last is not None:
        last.wait_for_publish(timeout=600)
    elapsed = time.perf_counter() - started
    client.loop_stop()
    client.disconnect()
    print(json.dumps({"published": sent, "seconds": elapsed}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
