"""A mail server that accepts connections and never answers, until released."""

from __future__ import annotations

import socket
import threading


class StallingServer:
    """Listens on 127.0.0.1, accepts every connection, says nothing.

    ``accepted`` is set once a client has connected; :meth:`release` closes every
    connection, as a server that finally gives up would.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.accepted = threading.Event()
        self._connections: list[socket.socket] = []
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._connections.append(connection)
            self.accepted.set()

    def release(self) -> None:
        for connection in self._connections:
            connection.close()
        self._connections.clear()

    def close(self) -> None:
        self.release()
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        self._thread.join(5)
