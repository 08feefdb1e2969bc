#!/usr/bin/env python3
"""A TCP proxy that adds a fixed delay each way, for measuring mpworker and
its peers as if the database were across a network (this kernel has no
netem).  Bytes keep their order: each chunk read is written on after DELAY
milliseconds, behind every chunk read before it.

    delayproxy.py LISTEN_PORT TARGET DELAY_MS
        TARGET is HOST:PORT, or the path of a unix socket.
    Prints "ready PORT" once listening (LISTEN_PORT 0 picks a free port).
"""
import asyncio
import sys


async def pump(reader, writer, delay):
    """Copy reader to writer, each chunk delay seconds after it was read."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def send():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((loop.time() + delay, data or None))
            if not data:
                break
        await sender
    except (ConnectionError, OSError):
        sender.cancel()
    finally:
        writer.close()


async def main():
    port, target, delay = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]) / 1000

    async def connect():
        if target.startswith("/"):
            return await asyncio.open_unix_connection(target)
        host, _, tport = target.rpartition(":")
        return await asyncio.open_connection(host, int(tport))

    async def handle(creader, cwriter):
        try:
            sreader, swriter = await connect()
        except OSError:
            cwriter.close()
            return
        await asyncio.gather(pump(creader, swriter, delay), pump(sreader, cwriter, delay))

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("ready", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
