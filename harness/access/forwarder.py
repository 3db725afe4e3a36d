"""The gateway's forwarder: runs in the gateway container (standard library only; the harness passes this file's
source to `python3 -c`), never in the test process.

One listening port. A client opens a tunnel with one line, `CONNECT <ip>:<port> <timeout>`, and gets one line back:
`OK` (then the bytes flow both ways untouched) or `ERR <errno> <text>` (the connection to the node failed as it
would have failed for the client itself: refused, timed out, no route). Only the addresses and ports given on the
command line (`ip:port` each: the topology's own nodes) are reachable; anything else is refused with `ERR`. The
forwarder opens no connection of its own: it only carries connections the test process makes to the nodes.
"""

import asyncio
import errno
import os
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass


async def _serve(allowed: frozenset[str], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        line = (await asyncio.wait_for(reader.readline(), 30)).decode("ascii", "replace").split()
        if len(line) != 3 or line[0] != "CONNECT" or line[1] not in allowed:
            writer.write(f"ERR {errno.EACCES} not a node of this topology\r\n".encode())
            await writer.drain()
            writer.close()
            return
        host, port = line[1].rsplit(":", 1)
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), float(line[2]))
        except TimeoutError:
            writer.write(f"ERR {errno.ETIMEDOUT} Connection timed out\r\n".encode())
        except OSError as exc:
            code = exc.errno or 0  # asyncio's own wording names the address: the kernel's says what happened
            writer.write(f"ERR {code} {os.strerror(code) if code else exc}\r\n".encode())
        else:
            writer.write(b"OK\r\n")
            await writer.drain()
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            return
        await writer.drain()
        writer.close()
    except (TimeoutError, ConnectionError, OSError, ValueError):
        writer.close()


async def listen(host: str, port: int, allowed: frozenset[str]) -> asyncio.Server:
    """Start forwarding on host:port (port 0: any free one) to the `allowed` ip:port addresses."""
    return await asyncio.start_server(lambda r, w: _serve(allowed, r, w), host, port)


async def main(port: int, allowed: frozenset[str]) -> None:
    server = await listen("0.0.0.0", port, allowed)
    print(f"gateway: forwarding to {' '.join(sorted(allowed))} on port {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), frozenset(sys.argv[2:])))
