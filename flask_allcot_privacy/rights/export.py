"""The export file: a ZIP with a readable ``index.html`` and a portable ``export.json``.

Written as a stream, so memory stays flat whatever the size: every exporter's
items go one by one into ``export.json`` inside the ZIP and, as escaped table rows
(markupsafe), into a spool file beside it, from which the report template is then
rendered, streamed, with autoescaping on for everything else. All
of it goes to a temporary file in the target folder that is renamed into place
only once complete; on any failure the temporary file is removed and
:class:`ExportError` raised, so there is never a silently truncated export.
"""

from __future__ import annotations

import codecs
import contextlib
import enum
import io
import json
import os
import tempfile
import typing as t
import uuid
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from flask import current_app
from flask_babel import gettext
from markupsafe import Markup, escape

from ..clock import utcnow
from .registry import Exporter, exporters_for
from .subject import Subject

#: The report template inside the ZIP; a host may override it by path.
REPORT_TEMPLATE = "privacy/export/report.html"
#: The ``format`` and ``version`` written at the top of ``export.json``.
FORMAT, VERSION = "flask-allcot-privacy export", 1


class ExportError(Exception):
    """The export could not be written completely; no file was left at the target path."""


@dataclass
class ExportSummary:
    """What :func:`write_export` wrote: where, when, and how many items per exporter."""

    path: Path
    generated_at: datetime
    #: ``(title, count)`` per exporter, in the order of the report.
    groups: list[tuple[str, int]] = field(default_factory=list)
    size: int = 0

    @property
    def items(self) -> int:
        """How many items the export holds in all."""
        return sum(count for _, count in self.groups)


def _jsonable(value: t.Any) -> t.Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"a value of type {type(value).__name__} cannot go into export.json")


#: One encoder for every item (building one per call costs more than the encoding).
_ENCODER = json.JSONEncoder(default=_jsonable, ensure_ascii=False)


def _dumps(value: t.Any) -> str:
    return _ENCODER.encode(value)


def write_export(
    subject: Subject, path: Path, *, only: Sequence[str] | None = None
) -> ExportSummary:
    """Write everything the registered exporters hold about ``subject`` to ``path``.

    :param only: exporter names to include (a correspondence request passes
        ``("contact_messages", "outbox")``); by default every exporter.
    :raises ExportError: if any exporter or write fails; nothing is left at ``path``.
    """
    exporters = _chosen(only)
    path = Path(path)
    summary = ExportSummary(path=path, generated_at=utcnow())
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(handle)
    try:
        with (
            tempfile.TemporaryFile(dir=path.parent, mode="w+b") as spool,
            zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            with _member(archive, "export.json") as out:
                offsets = _write_json(out, spool, exporters, subject, summary)
            with _member(archive, "index.html") as out:
                _write_report(out, spool, offsets, subject, summary)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, ExportError | KeyboardInterrupt | SystemExit):
            raise
        raise ExportError(f"The export could not be written: {error}") from error
    summary.size = path.stat().st_size
    return summary


def _chosen(only: Sequence[str] | None) -> list[Exporter]:
    exporters = exporters_for(current_app)
    if only is None:
        return exporters
    known = {exporter.name for exporter in exporters}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise ExportError(
            f"No exporter is registered as {', '.join(map(repr, unknown))}; "
            f"the registered ones are {', '.join(sorted(known))}."
        )
    return [exporter for exporter in exporters if exporter.name in only]


@contextlib.contextmanager
def _member(archive: zipfile.ZipFile, name: str) -> Iterator[t.TextIO]:
    """A text stream into a new ZIP member (ZIP64, so no size limit applies)."""
    with (
        archive.open(name, "w", force_zip64=True) as raw,
        io.TextIOWrapper(raw, encoding="utf-8", newline="\n") as text,
    ):
        yield text


def _write_json(
    out: t.TextIO,
    spool: t.BinaryIO,
    exporters: list[Exporter],
    subject: Subject,
    summary: ExportSummary,
) -> list[tuple[int, int]]:
    """Stream ``export.json``; write each item's escaped report row to ``spool``.

    Returns each group's ``(start, end)`` offsets in the spool.
    """
    out.write("{")
    out.write(f'"format": {_dumps(FORMAT)}, "version": {VERSION}, ')
    out.write(f'"site": {_dumps(current_app.config["PRIVACY_SITE_NAME"])}, ')
    out.write(f'"generated_at": {_dumps(summary.generated_at)}, ')
    out.write(f'"email": {_dumps(subject.email)}, "groups": [')
    offsets: list[tuple[int, int]] = []
    for number, exporter in enumerate(exporters):
        title = str(exporter.title)
        out.write(", " if number else "")
        out.write(f'{{"name": {_dumps(exporter.name)}, "title": {_dumps(title)}, "items": [')
        start, count = spool.tell(), 0
        fields: tuple[str, ...] = ()
        try:
            for item in exporter.function(subject):
                out.write(",\n" if count else "\n")
                out.write(_dumps(dict(item)))
                if tuple(item) != fields:
                    fields = tuple(item)
                    spool.write(_header_row(fields).encode("utf-8"))
                spool.write(_item_row(item.values()).encode("utf-8"))
                count += 1
        except Exception as error:
            raise ExportError(
                f"The {exporter.name!r} exporter failed after {count} item(s): {error}"
            ) from error
        out.write(f'\n], "count": {count}}}')
        offsets.append((start, spool.tell()))
        summary.groups.append((title, count))
    out.write("]}\n")
    return offsets


def _display(value: t.Any) -> str:
    """A value as text for the report; :func:`_item_row` escapes it."""
    if value is None:
        return ""
    if value is True or value is False:
        return str(gettext("yes") if value else gettext("no"))
    if isinstance(value, list | tuple):
        return ", ".join(_display(each) for each in value)
    if isinstance(value, dict):
        return _dumps(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _header_row(fields: tuple[str, ...]) -> str:
    cells = "".join(f'<th scope="col">{escape(name)}</th>' for name in fields)
    return f"<tr>{cells}</tr>\n"


#: Joins an item's values so markupsafe escapes them in one call; HTML text holds no NUL.
_SEPARATOR = "\x00"


def _item_row(values: t.Iterable[t.Any]) -> str:
    """One item as a table row, every value escaped with markupsafe.

    The values are joined, escaped together and split again: one ``escape`` call per
    item instead of one per value (the export's hot path). A value holding the
    separator itself is escaped on its own.
    """
    texts = [value if type(value) is str else _display(value) for value in values]
    if not texts:
        return "<tr></tr>\n"
    joined = _SEPARATOR.join(texts)
    if joined.count(_SEPARATOR) == len(texts) - 1:
        cells = str(escape(joined)).split(_SEPARATOR)
    else:
        cells = [str(escape(text)) for text in texts]
    return "<tr><td>" + "</td><td>".join(cells) + "</td></tr>\n"


@dataclass(frozen=True)
class ReportGroup:
    """One exporter's section of the report: its title, count, and its escaped rows."""

    title: str
    count: int
    #: The table rows, already escaped, read back from the spool in blocks.
    rows: Iterator[Markup]


#: How much of the spool the report template receives at a time.
SPOOL_BLOCK = 1 << 16


def _rows(spool: t.BinaryIO, start: int, end: int) -> Iterator[Markup]:
    """A group's rows as Markup blocks (escaped when written), read in order."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    spool.seek(start)
    left = end - start
    while left > 0:
        block = spool.read(min(SPOOL_BLOCK, left))
        if not block:
            raise ExportError("The export's spool file ended early.")
        left -= len(block)
        yield Markup(decoder.decode(block, final=left <= 0))  # noqa: S704 - escaped on write  # nosec B704


def _write_report(
    out: t.TextIO,
    spool: t.BinaryIO,
    offsets: list[tuple[int, int]],
    subject: Subject,
    summary: ExportSummary,
) -> None:
    """Render the report template into ``out``, streamed, with autoescaping on."""
    spool.flush()
    groups = (
        ReportGroup(title, count, _rows(spool, start, end))
        for (title, count), (start, end) in zip(summary.groups, offsets, strict=True)
    )
    template = current_app.jinja_env.get_template(REPORT_TEMPLATE)
    if not template.environment.autoescape:  # pragma: no cover - Flask always escapes .html
        raise ExportError("The export report must be rendered with autoescaping on.")
    for chunk in template.generate(
        site_name=current_app.config["PRIVACY_SITE_NAME"],
        generated_at=summary.generated_at,
        email=subject.email,
        contents=summary.groups,
        groups=groups,
        total=summary.items,
    ):
        out.write(chunk)
