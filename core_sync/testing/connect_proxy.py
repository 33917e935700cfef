"""A tiny HTTP CONNECT proxy on loopback for kubeconfig ``proxy-url`` tests: it tunnels to the target
and records each CONNECT request's head, so a test can see who went through it."""

from __future__ import annotations

import contextlib
import select
import socket
import threading


class ConnectProxy:
    """A tiny HTTP CONNECT proxy on loopback that records the targets it tunnelled to."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://user:pa%20ss@127.0.0.1:{self.server.getsockname()[1]}"
        self.requests: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError), client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            request = head.decode(errors="replace").split("\r\n")
            self.requests.append("\n".join(request[:-2]))
            target = _connect_target(request[0])
            if target is None:  # not a CONNECT host:port request: refuse it, as a proxy would
                client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            with socket.create_connection(target) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self._pump(client, upstream)

    @staticmethod
    def _pump(client: socket.socket, upstream: socket.socket) -> None:
        """Copy bytes both ways until either side closes (or resets) or both are idle for a minute."""
        sockets = [client, upstream]
        while True:
            readable, _, _ = select.select(sockets, [], [], 60)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (upstream if sock is client else client).sendall(data)

    def close(self) -> None:
        """Stop listening now: a bare ``close()`` leaves the socket listening while the accept thread is
        blocked in ``accept()``, and a later test's server could lose its port to it."""
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(), which then returns
        self.server.close()


def _connect_target(line: str) -> tuple[str, int] | None:
    """``(host, port)`` of a ``CONNECT host:port HTTP/1.x`` request line, else None."""
    parts = line.split()
    if len(parts) != 3 or parts[0] != "CONNECT":
        return None
    host, _, port = parts[1].rpartition(":")
    return (host, int(port)) if host and port.isdigit() else None
