"""The IDs.txt parser (freshworks/ids.py): plain Python, no database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from freshworks.ids import IdEntry, IdProblem, IdsFileError, parse_ids, read_ids_file

REPO = Path(__file__).resolve().parent.parent


def test_it_reads_name_and_id_from_each_line() -> None:
    parsed = parse_ids("Oscar S. - 12345\nAJ Thompson - 67890\n")

    assert parsed.entries == [
        IdEntry(line=1, name="Oscar S.", freshworks_user_id=12345),
        IdEntry(line=2, name="AJ Thompson", freshworks_user_id=67890),
    ]
    assert parsed.problems == []


def test_it_splits_on_the_last_separator_so_names_may_hold_hyphens() -> None:
    parsed = parse_ids("Mary-Jo - Ng - 22222")

    assert parsed.entries == [IdEntry(line=1, name="Mary-Jo - Ng", freshworks_user_id=22222)]


def test_it_skips_blank_lines_and_comments_but_counts_them_in_line_numbers() -> None:
    parsed = parse_ids("# agents\n\n   \n  # indented comment\nCole O'Grady - 11111\n")

    assert parsed.entries == [IdEntry(line=5, name="Cole O'Grady", freshworks_user_id=11111)]
    assert parsed.problems == []


def test_it_strips_a_byte_order_mark_crlf_and_surrounding_whitespace() -> None:
    parsed = parse_ids("\ufeff  Oscar S.  -  12345  \r\n\tAJ   Thompson - 67890\r\n")

    assert parsed.entries == [
        IdEntry(line=1, name="Oscar S.", freshworks_user_id=12345),
        IdEntry(line=2, name="AJ Thompson", freshworks_user_id=67890),
    ]


def test_it_keeps_accented_names_as_written() -> None:
    parsed = parse_ids("José Núñez - 4242")

    assert parsed.entries[0].name == "José Núñez"


@pytest.mark.parametrize(
    ("line", "reason_part"),
    [
        ("Oscar S. 12345", "expected 'Name - ID'"),
        ("Oscar S. -12345", "expected 'Name - ID'"),
        ("Oscar S. - ", "expected 'Name - ID'"),
        ("   - 12345", "expected 'Name - ID'"),
        ("Oscar S. - twelve", "not a positive whole number"),
        ("Oscar S. - 0", "not a positive whole number"),
        ("Oscar S. - -5", "not a positive whole number"),
        ("Oscar S. - 12.5", "not a positive whole number"),
        ("Oscar S. - 1_000", "not a positive whole number"),
        ("Oscar S. - 99999999999999999999", "too large"),
        ("x" * 201 + " - 12345", "longer than 200 characters"),
    ],
)
def test_a_malformed_line_is_reported_with_its_line_number_and_the_rest_loads(
    line: str, reason_part: str
) -> None:
    parsed = parse_ids(f"AJ Thompson - 67890\n{line}\nCole O'Grady - 11111\n")

    assert [entry.freshworks_user_id for entry in parsed.entries] == [67890, 11111]
    assert len(parsed.problems) == 1
    problem = parsed.problems[0]
    assert problem.line == 2
    assert problem.text == line.strip()
    assert reason_part in problem.reason


def test_a_duplicated_id_is_reported_and_the_first_line_wins() -> None:
    parsed = parse_ids("Oscar S. - 12345\nAJ Thompson - 67890\nOscar Solis - 12345\n")

    assert parsed.entries == [
        IdEntry(line=1, name="Oscar S.", freshworks_user_id=12345),
        IdEntry(line=2, name="AJ Thompson", freshworks_user_id=67890),
    ]
    assert parsed.problems == [
        IdProblem(
            line=3,
            text="Oscar Solis - 12345",
            reason="duplicate ID 12345, already given on line 1 (Oscar S.); the first line wins",
        )
    ]


def test_the_same_name_with_two_ids_loads_both() -> None:
    parsed = parse_ids("Oscar S. - 1\nOscar S. - 2\n")

    assert [entry.freshworks_user_id for entry in parsed.entries] == [1, 2]


def test_reading_a_file_parses_it(tmp_path: Path) -> None:
    ids = tmp_path / "IDs.txt"
    ids.write_bytes("\ufeffJosé Núñez - 4242\r\nbroken\r\n".encode())

    parsed = read_ids_file(ids)

    assert parsed.entries == [IdEntry(line=1, name="José Núñez", freshworks_user_id=4242)]
    assert [problem.line for problem in parsed.problems] == [2]


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"

    with pytest.raises(IdsFileError, match="does not exist") as excinfo:
        read_ids_file(missing)

    assert str(missing) in str(excinfo.value)


def test_a_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(IdsFileError, match="is a directory"):
        read_ids_file(tmp_path)


def test_a_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    ids = tmp_path / "IDs.txt"
    ids.write_bytes("José Núñez - 4242\n".encode("latin-1"))

    with pytest.raises(IdsFileError, match="not UTF-8"):
        read_ids_file(ids)


@pytest.mark.parametrize(
    ("text", "reason_part"),
    [
        ("", "empty or holds only comments"),
        ("\n  \n", "empty or holds only comments"),
        ("# only a comment\n", "empty or holds only comments"),
        ("# header\nno separator here\n", "1 malformed line(s), the first on line 2"),
    ],
)
def test_a_file_without_a_valid_line_is_an_error(
    tmp_path: Path, text: str, reason_part: str
) -> None:
    ids = tmp_path / "IDs.txt"
    ids.write_text(text, encoding="utf-8")

    with pytest.raises(IdsFileError, match="has no valid 'Name - ID' line") as excinfo:
        read_ids_file(ids)

    message = str(excinfo.value)
    assert reason_part in message
    assert "\n" not in message


def test_the_shipped_example_file_loads_cleanly() -> None:
    parsed = read_ids_file(REPO / "freshworks" / "IDs.example.txt")

    assert [(entry.name, entry.freshworks_user_id) for entry in parsed.entries] == [
        ("Oscar S.", 12345),
        ("AJ Thompson", 67890),
        ("Cole O'Grady", 11111),
    ]
    assert parsed.problems == []


def test_the_parser_does_not_import_django() -> None:
    code = "import sys, freshworks.ids; print('django' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"
