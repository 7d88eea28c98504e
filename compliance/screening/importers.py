"""Parsers of the lists in their published formats, refusing a bad file whole.

- The UN Security Council consolidated list, XML (``CONSOLIDATED_LIST`` with
  ``INDIVIDUALS/INDIVIDUAL`` and ``ENTITIES/ENTITY``), as scsanctions.un.org publishes it.
  It is parsed with defusedxml: a DTD or entity declaration is refused, never expanded.
- A PEP list, CSV with the header ``reference,name,aliases,date_of_birth,nationality,position``
  (docs/compliance-screening.md).

A parser returns every entry or raises :class:`ListFileRefused` naming each bad line or
element; nothing is stored from a refused file (the service stores only a parsed list).
"""

import csv
import datetime as dt
import hashlib
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from tradingsite.errors import DomainError

ROOT = "CONSOLIDATED_LIST"
PEP_COLUMNS = ("reference", "name", "aliases", "date_of_birth", "nationality", "position")
MAX_ERRORS_SHOWN = 20


class ListFileRefused(DomainError):
    """The list file is malformed, truncated or has bad rows; nothing of it was stored."""

    def __init__(self, source: str, errors: list[str]) -> None:
        shown = "; ".join(errors[:MAX_ERRORS_SHOWN])
        more = (
            f" (and {len(errors) - MAX_ERRORS_SHOWN} more)"
            if len(errors) > MAX_ERRORS_SHOWN
            else ""
        )
        super().__init__(
            f"{source}: refused, nothing was imported: {shown}{more}",
            errors={"file": errors},
        )
        self.problems = errors


@dataclass
class ParsedEntry:
    key: str
    kind: str  # ListEntry.Kind
    reference: str
    name: str
    line: int
    aliases: list[dict[str, str]] = field(default_factory=list)
    dates_of_birth: list[dict[str, Any]] = field(default_factory=list)
    nationalities: list[str] = field(default_factory=list)
    list_type: str = ""
    listed_on: dt.date | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """sha256 of what identifies the person: a change to it raises hits again."""
        ident = {
            "name": self.name,
            "aliases": sorted(a["name"] for a in self.aliases),
            "dob": self.dates_of_birth,
            "nationalities": sorted(self.nationalities),
        }
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


@dataclass
class ParsedList:
    entries: list[ParsedEntry]
    generated_at: dt.datetime | None = None


# --- UN consolidated list (XML) -----------------------------------------------------------


class _LineBuilder(ET.TreeBuilder):
    """A tree builder that notes the line each element starts on."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[int, int] = {}
        self.parser: DefusedXMLParser | None = None

    def start(self, tag, attrs):
        element = super().start(tag, attrs)
        self.lines[id(element)] = self.parser.parser.CurrentLineNumber
        return element


def _text(element: ET.Element, tag: str) -> str:
    found = element.find(tag)
    return " ".join((found.text or "").split()) if found is not None else ""


def _iso_date(value: str) -> dt.date:
    return dt.date.fromisoformat(value[:10])


def _year(value: str) -> int:
    year = int(value)
    if not 1850 <= year <= 2100:
        raise ValueError(f"year {value} is out of range")
    return year


def _un_dates_of_birth(element: ET.Element, where: str, errors: list[str]) -> list[dict]:
    dates = []
    for dob in element.findall("INDIVIDUAL_DATE_OF_BIRTH"):
        kind = _text(dob, "TYPE_OF_DATE").upper() or "EXACT"
        try:
            if _text(dob, "DATE"):
                dates.append({"type": kind, "date": _iso_date(_text(dob, "DATE")).isoformat()})
            elif _text(dob, "FROM_YEAR") or _text(dob, "TO_YEAR"):
                low, high = _year(_text(dob, "FROM_YEAR")), _year(_text(dob, "TO_YEAR"))
                if low > high:
                    raise ValueError(f"FROM_YEAR {low} is after TO_YEAR {high}")
                dates.append({"type": kind, "from_year": low, "to_year": high})
            elif _text(dob, "YEAR"):
                dates.append({"type": kind, "year": _year(_text(dob, "YEAR"))})
        except ValueError as exc:
            errors.append(f"{where}: INDIVIDUAL_DATE_OF_BIRTH is not a date: {exc}")
    return dates


def _un_entry(element: ET.Element, kind: str, line: int, number: int, errors: list[str]):
    tag = element.tag
    where = f"{tag} #{number} (line {line})"
    data_id = _text(element, "DATAID")
    reference = _text(element, "REFERENCE_NUMBER")
    if data_id:
        where = f"{tag} #{number} DATAID {data_id} (line {line})"
    names = [_text(element, t) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")]
    name = " ".join(n for n in names if n)
    missing = [t for t, v in (("DATAID", data_id), ("REFERENCE_NUMBER", reference)) if not v]
    if not names[0]:
        missing.append("FIRST_NAME")
    if missing:
        errors.append(f"{where}: no {', '.join(missing)}")
        return None
    alias_tag = "INDIVIDUAL_ALIAS" if kind == "individual" else "ENTITY_ALIAS"
    aliases = [
        {"name": _text(a, "ALIAS_NAME"), "quality": _text(a, "QUALITY") or "Good"}
        for a in element.findall(alias_tag)
        if _text(a, "ALIAS_NAME")
    ]
    if _text(element, "NAME_ORIGINAL_SCRIPT"):
        aliases.append({"name": _text(element, "NAME_ORIGINAL_SCRIPT"), "quality": "original"})
    listed_on = None
    if _text(element, "LISTED_ON"):
        try:
            listed_on = _iso_date(_text(element, "LISTED_ON"))
        except ValueError:
            errors.append(f"{where}: LISTED_ON {_text(element, 'LISTED_ON')!r} is not a date")
    nationalities = [
        " ".join((v.text or "").split())
        for v in element.findall("NATIONALITY/VALUE")
        if (v.text or "").strip()
    ]
    return ParsedEntry(
        key=f"un:{reference}",
        kind=kind,
        reference=reference,
        name=name,
        line=line,
        aliases=aliases,
        dates_of_birth=_un_dates_of_birth(element, where, errors) if kind == "individual" else [],
        nationalities=nationalities,
        list_type=_text(element, "UN_LIST_TYPE"),
        listed_on=listed_on,
        detail={"dataid": data_id, "comments": _text(element, "COMMENTS1")[:2000]},
    )


def parse_un_xml(data: bytes, *, source: str = "file") -> ParsedList:
    """Every individual and entity of a UN consolidated list, or :class:`ListFileRefused`."""
    builder = _LineBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    builder.parser = parser
    try:
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as exc:
        line, column = exc.position
        at_end = line >= data.count(b"\n") + 1
        hint = " (the file ends before the list is closed: truncated?)" if at_end else ""
        raise ListFileRefused(
            source, [f"malformed XML at line {line}, column {column}: {exc}{hint}"]
        ) from None
    except DefusedXmlException as exc:
        raise ListFileRefused(source, [f"refused XML construct: {exc!r}"]) from None
    if root.tag != ROOT:
        raise ListFileRefused(source, [f"line 1: the root element is {root.tag}, not {ROOT}"])
    errors: list[str] = []
    for group in ("INDIVIDUALS", "ENTITIES"):
        if root.find(group) is None:
            errors.append(f"no {group} element under {ROOT}: a partial file?")
    entries: list[ParsedEntry] = []
    seen: dict[str, int] = {}
    for group, tag, kind in (
        ("INDIVIDUALS", "INDIVIDUAL", "individual"),
        ("ENTITIES", "ENTITY", "entity"),
    ):
        for number, element in enumerate(root.findall(f"{group}/{tag}"), start=1):
            line = builder.lines.get(id(element), 0)
            entry = _un_entry(element, kind, line, number, errors)
            if entry is None:
                continue
            if entry.key in seen:
                errors.append(
                    f"{tag} #{number} (line {line}): REFERENCE_NUMBER {entry.reference} "
                    f"is already at line {seen[entry.key]}"
                )
                continue
            seen[entry.key] = line
            entries.append(entry)
    if not entries and not errors:
        errors.append("the list has no INDIVIDUAL and no ENTITY")
    if errors:
        raise ListFileRefused(source, errors)
    generated_at = None
    stamp = root.get("dateGenerated", "")
    if stamp:
        try:
            generated_at = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            if generated_at.tzinfo is None:
                generated_at = generated_at.replace(tzinfo=dt.UTC)
        except ValueError:
            raise ListFileRefused(
                source, [f"line 1: dateGenerated {stamp!r} is not a date and time"]
            ) from None
    return ParsedList(entries=entries, generated_at=generated_at)


# --- PEP list (CSV) -----------------------------------------------------------------------


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _pep_dob(value: str) -> list[dict]:
    if not value:
        return []
    if len(value) == 4:
        return [{"type": "EXACT", "year": _year(value)}]
    return [{"type": "EXACT", "date": dt.date.fromisoformat(value).isoformat()}]


def parse_pep_csv(data: bytes, *, source: str = "file") -> ParsedList:
    """Every row of a PEP CSV (columns ``PEP_COLUMNS``), or :class:`ListFileRefused`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ListFileRefused(source, [f"not UTF-8 text (byte {exc.start})"]) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ListFileRefused(source, ["line 1: the file is empty"]) from None
    except csv.Error as exc:
        raise ListFileRefused(source, [f"line 1: {exc}"]) from None
    if tuple(header) != PEP_COLUMNS:
        raise ListFileRefused(
            source, [f"line 1: the header must be {','.join(PEP_COLUMNS)}, not {','.join(header)}"]
        )
    errors: list[str] = []
    entries: list[ParsedEntry] = []
    seen: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(PEP_COLUMNS):
                errors.append(f"line {line}: {len(row)} columns, not {len(PEP_COLUMNS)}")
                continue
            cells = dict(zip(PEP_COLUMNS, (c.strip() for c in row), strict=True))
            missing = [c for c in ("reference", "name") if not cells[c]]
            if missing:
                errors.append(f"line {line}: no {', '.join(missing)}")
                continue
            try:
                dates = _pep_dob(cells["date_of_birth"])
            except ValueError:
                errors.append(
                    f"line {line}: date_of_birth {cells['date_of_birth']!r} is not "
                    "YYYY-MM-DD or YYYY"
                )
                continue
            key = f"pep:{cells['reference']}"
            if key in seen:
                errors.append(
                    f"line {line}: reference {cells['reference']} is already at line {seen[key]}"
                )
                continue
            seen[key] = line
            entries.append(
                ParsedEntry(
                    key=key,
                    kind="individual",
                    reference=cells["reference"],
                    name=" ".join(cells["name"].split()),
                    line=line,
                    aliases=[{"name": a, "quality": "Good"} for a in _split(cells["aliases"])],
                    dates_of_birth=dates,
                    nationalities=_split(cells["nationality"]),
                    list_type=cells["position"][:120],
                    detail={"position": cells["position"]},
                )
            )
    except csv.Error as exc:
        errors.append(f"line {reader.line_num}: {exc}")
    if not entries and not errors:
        errors.append("the list has no rows")
    if errors:
        raise ListFileRefused(source, errors)
    return ParsedList(entries=entries)


PARSERS = {"un": parse_un_xml, "pep": parse_pep_csv}
