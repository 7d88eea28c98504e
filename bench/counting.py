"""Per-request counts of SQL statements and Redis round trips, for the benchmarks only.

A request that carries ``X-Bench-Count: 1`` is answered with ``X-Bench-SQL`` (statements
through Django's ``execute_wrapper``: BEGIN and COMMIT are not statements there, savepoints
are), ``X-Bench-Redis`` (round trips: packets sent by redis-py, so a pipeline or a Lua
script is one) and ``X-Bench-Redis-Commands``; ``X-Bench-Count: trace`` adds
``X-Bench-Trace``, the statements and commands in order (to see where they come from).
The load runs send no such header, so they pay one header lookup per request and one
context-variable read per Redis round trip.

It is the outermost middleware in ``bench.settings``, so the other middleware's work
counts too; work done after the response (e.g. closing connections) does not.
"""

import contextvars
from dataclasses import dataclass

from django.db import connections
from redis.connection import AbstractConnection


@dataclass
class Tally:
    sql: int = 0
    redis: int = 0
    redis_commands: int = 0
    trace: list[str] | None = None  # with "X-Bench-Count: trace": what was sent, in order

    def note(self, kind: str, text) -> None:
        if self.trace is not None:
            self.trace.append(f"{kind} {str(text)[:60]}")


_tally: contextvars.ContextVar[Tally | None] = contextvars.ContextVar("bench_tally", default=None)
_send_packed = AbstractConnection.send_packed_command
_send_command = AbstractConnection.send_command
_pack_commands = AbstractConnection.pack_commands


def _counted_send_packed(self, command, check_health=True):
    if (tally := _tally.get()) is not None:
        tally.redis += 1
    return _send_packed(self, command, check_health)


def _counted_send_command(self, *args, **kwargs):
    if (tally := _tally.get()) is not None:
        tally.redis_commands += 1
        tally.note("redis", args[0] if args else "?")
    return _send_command(self, *args, **kwargs)


def _counted_pack_commands(self, commands):
    commands = list(commands)
    if (tally := _tally.get()) is not None:
        tally.redis_commands += len(commands)
        tally.note("redis-pipeline", " ".join(str(c[0]) for c in commands))
    return _pack_commands(self, commands)


AbstractConnection.send_packed_command = _counted_send_packed
AbstractConnection.send_command = _counted_send_command
AbstractConnection.pack_commands = _counted_pack_commands


class CountingMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        mode = request.headers.get("X-Bench-Count")
        if mode not in ("1", "trace"):
            return self.get_response(request)
        tally = Tally(trace=[] if mode == "trace" else None)
        token = _tally.set(tally)

        def count(execute, sql, params, many, context):
            tally.sql += 1
            tally.note("sql", sql)
            return execute(sql, params, many, context)

        try:
            with connections["default"].execute_wrapper(count):
                response = self.get_response(request)
        finally:
            _tally.reset(token)
        response["X-Bench-SQL"] = str(tally.sql)
        response["X-Bench-Redis"] = str(tally.redis)
        response["X-Bench-Redis-Commands"] = str(tally.redis_commands)
        if tally.trace is not None:
            response["X-Bench-Trace"] = " ; ".join(t.replace("\n", " ") for t in tally.trace)
        return response
