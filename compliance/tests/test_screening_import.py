"""The list importers: the UN consolidated list (real format) and a PEP CSV, each imported
as a version, and a malformed, truncated or bad file refused whole."""

import hashlib
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from compliance.models import AuditEvent
from compliance.screening.importers import ListFileRefused, parse_pep_csv, parse_un_xml
from compliance.screening.models import ListEntry, ListVersion
from compliance.screening.services import ListAlreadyImported, screening_list_import

DATA = Path(__file__).parent / "data"
UN = (DATA / "un_consolidated_sample.xml").read_bytes()
PEP = (DATA / "pep_sample.csv").read_bytes()


def test_un_sample_parses_individuals_entities_aliases_and_dates():
    parsed = parse_un_xml(UN)
    by_ref = {e.reference: e for e in parsed.entries}
    assert sorted(by_ref) == ["KPe.901", "QDe.901", "QDi.901", "QDi.902", "QDi.903"]
    rafiq = by_ref["QDi.901"]
    assert rafiq.kind == "individual"
    assert rafiq.name == "MUHAMMAD RAFIQ QURESHI"
    assert rafiq.key == "un:QDi.901"
    assert [a["name"] for a in rafiq.aliases] == [
        "Mohammed Rafiq Kureshi",
        "Abu Rafiq",
        "محمد رفیق قریشی",
    ]
    assert [a["quality"] for a in rafiq.aliases] == ["Good", "Low", "original"]
    assert rafiq.dates_of_birth == [
        {"type": "EXACT", "date": "1968-04-12"},
        {"type": "APPROXIMATELY", "year": 1966},
    ]
    assert rafiq.nationalities == ["Pakistan", "India"]
    assert rafiq.list_type == "Al-Qaida"
    assert str(rafiq.listed_on) == "2012-03-14"
    assert rafiq.line == 7  # the INDIVIDUAL element's own line
    assert by_ref["QDi.902"].name == "ABDEL KARIM HUSSEIN AL-FICTIVI"
    assert by_ref["QDi.902"].dates_of_birth == [
        {"type": "BETWEEN", "from_year": 1970, "to_year": 1973},
        {"type": "EXACT", "year": 1971},
    ]
    assert by_ref["QDi.903"].aliases == []  # an empty INDIVIDUAL_ALIAS is no alias
    trust = by_ref["QDe.901"]
    assert trust.kind == "entity"
    assert [a["name"] for a in trust.aliases] == [
        "Fictional Welfare Foundation",
        "FRT Trading Company",
    ]
    assert parsed.generated_at.isoformat() == "2026-11-30T18:00:04.117000-05:00"


@pytest.mark.django_db
def test_un_import_is_a_version_with_checksum_entries_and_audit():
    version = screening_list_import(list_code="un", data=UN, source="consolidated.xml")
    assert version.number == 1
    assert version.entry_count == 5 == ListEntry.objects.filter(version=version).count()
    assert version.sha256 == hashlib.sha256(UN).hexdigest()
    assert version.source == "consolidated.xml"
    event = AuditEvent.objects.get(action="screening.list_imported")
    assert event.after["sha256"] == version.sha256
    assert event.after["entries"] == 5
    changed = UN.replace(b"Financier", b"Financier and facilitator")
    second = screening_list_import(list_code="un", data=changed, source="consolidated.xml")
    assert second.number == 2


@pytest.mark.django_db
def test_the_same_file_twice_is_refused():
    screening_list_import(list_code="un", data=UN, source="a.xml")
    with pytest.raises(ListAlreadyImported, match="already"):
        screening_list_import(list_code="un", data=UN, source="b.xml")
    assert ListVersion.objects.count() == 1


def _line(data: bytes, offset: int) -> int:
    return data[:offset].count(b"\n") + 1


def _refused(data: bytes, parse=parse_un_xml) -> list[str]:
    with pytest.raises(ListFileRefused) as refused:
        parse(data, source="bad")
    return refused.value.problems


def test_malformed_xml_is_refused_with_its_line():
    broken = UN.replace(b"<SECOND_NAME>KARIM</SECOND_NAME>", b"<SECOND_NAME>KARIM</SECOND>")
    line = _line(UN, UN.index(b"<SECOND_NAME>KARIM"))
    (problem,) = _refused(broken)
    assert problem.startswith(f"malformed XML at line {line}, column")


def test_truncated_file_is_refused_with_its_line():
    cut = UN[: UN.index(b"<ENTITIES>") + 200]
    (problem,) = _refused(cut)
    assert f"line {_line(cut, len(cut))}" in problem
    assert "truncated" in problem


def test_an_entity_declaration_is_refused_not_expanded():
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><CONSOLIDATED_LIST>&a;</CONSOLIDATED_LIST>'
    (problem,) = _refused(bomb)
    assert "refused XML construct" in problem


def test_an_individual_without_a_name_is_refused_by_element_and_line():
    bad = UN.replace(b"<FIRST_NAME>SAYED</FIRST_NAME>", b"<FIRST_NAME></FIRST_NAME>")
    bad = bad.replace(b"<REFERENCE_NUMBER>QDe.901</REFERENCE_NUMBER>", b"")
    problems = _refused(bad)
    individual = _line(UN, UN.index(b"<DATAID>6908003")) - 1  # the INDIVIDUAL's own line
    entity = _line(UN, UN.index(b"<DATAID>6908101")) - 1
    assert problems == [
        f"INDIVIDUAL #3 DATAID 6908003 (line {individual}): no FIRST_NAME",
        f"ENTITY #1 DATAID 6908101 (line {entity}): no REFERENCE_NUMBER",
    ]


def test_a_file_without_entities_section_is_partial():
    start, end = UN.index(b"  <ENTITIES>"), UN.index(b"</ENTITIES>") + len(b"</ENTITIES>")
    problems = _refused(UN[:start] + UN[end:])
    assert problems == ["no ENTITIES element under CONSOLIDATED_LIST: a partial file?"]


@pytest.mark.django_db
def test_a_refused_file_stores_nothing_through_the_command(capsys, tmp_path):
    path = DATA / "un_consolidated_sample.xml"
    cut = path.read_bytes()[:3000]
    bad = tmp_path / "cut.xml"
    bad.write_bytes(cut)
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("screening_import", "--list", "un", str(bad))
    assert "truncated" in capsys.readouterr().err
    assert not ListVersion.objects.exists()
    assert not ListEntry.objects.exists()
    assert not AuditEvent.objects.filter(action="screening.list_imported").exists()


def test_pep_csv_parses_rows():
    parsed = parse_pep_csv(PEP)
    assert [e.key for e in parsed.entries] == ["pep:PEP-0001", "pep:PEP-0002", "pep:PEP-0003"]
    first = parsed.entries[0]
    assert [a["name"] for a in first.aliases] == ["S K Verma", "Sanjay Verma"]
    assert first.dates_of_birth == [{"type": "EXACT", "date": "1961-07-04"}]
    assert parsed.entries[1].dates_of_birth == [{"type": "EXACT", "year": 1958}]
    assert parsed.entries[2].name == "Rao, Lakshmi Narayan"
    assert parsed.entries[2].line == 4


def test_pep_row_with_missing_columns_is_refused_whole_with_its_line():
    bad = PEP + b"PEP-0004,Ravi Kumar,,1970-01-01,IN\n"
    assert _refused(bad, parse_pep_csv) == ["line 5: 5 columns, not 6"]


def test_pep_bad_rows_each_named():
    bad = PEP.replace(b"1958,IN", b"19-58,IN") + b",No Reference,,,IN,x\n" + PEP.splitlines()[1]
    assert _refused(bad, parse_pep_csv) == [
        "line 3: date_of_birth '19-58' is not YYYY-MM-DD or YYYY",
        "line 5: no reference",
        "line 6: reference PEP-0001 is already at line 2",
    ]


def test_pep_wrong_header_is_refused():
    assert _refused(b"name,dob\nA,B\n", parse_pep_csv)[0].startswith("line 1: the header must be")


@pytest.mark.django_db
def test_pep_import_through_the_command():
    call_command("screening_import", "--list", "pep", str(DATA / "pep_sample.csv"))
    version = ListVersion.objects.get()
    assert version.screening_list.code == "pep"
    assert version.entry_count == 3


@pytest.mark.django_db
def test_a_refused_pep_file_stores_nothing(tmp_path):
    bad = tmp_path / "pep.csv"
    bad.write_bytes(PEP + b"PEP-0009,Only Two\n")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("screening_import", "--list", "pep", str(bad))
    assert not ListEntry.objects.exists()
