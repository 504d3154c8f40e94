#!/usr/bin/env python3
"""A minimal webhook receiver for benchmarks: HTTP/1.1 keep-alive, answers
every POST with 204, counts deliveries and prints the count to the file given
(rewritten once a second) so a benchmark script can read the delivery rate.

Usage: webhook_sink.py PORT COUNT_FILE

Standard library only (asyncio streams): one process, far from the
bottleneck at the rates kefu sends on two cores.
"""

import asyncio
import sys
import time

count = 0
first = None
last = None


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    global count, first, last
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            now = time.monotonic()
            first = first or now
            last = now
            count += 1
            writer.write(b"HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def report(path: str) -> None:
    while True:
        await asyncio.sleep(1)
        span = (last - first) if first and last else 0.0
        with open(path, "w") as f:
            f.write(f"{count} {span:.3f}\n")


async def main() -> None:
    port, path = int(sys.argv[1]), sys.argv[2]
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    asyncio.create_task(report(path))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
