"""Matching IDs.txt names to local users, the refresh service and its command."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from freshworks.ids import IdsFileError
from tickets.models import FreshworksUserMapping, TicketClosure
from tickets.services.mapping import match_user, normalise, refresh_user_mappings

DAY = date(2025, 3, 3)


def make_user(username: str, first_name: str = "", last_name: str = "") -> User:
    # No password: hashing one costs a quarter of a second and matching never reads it.
    return User.objects.create(username=username, first_name=first_name, last_name=last_name)


def person(username: str, first_name: str = "", last_name: str = "") -> User:
    """An unsaved user: matching is pure Python and needs no database."""
    return User(username=username, first_name=first_name, last_name=last_name)


@pytest.fixture
def ids_file(tmp_path: Path) -> Path:
    return tmp_path / "IDs.txt"


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("refresh_user_mappings", *args, stdout=out)
    return out.getvalue()


def mappings() -> dict[int, tuple[str, str | None]]:
    return {
        mapping.freshworks_user_id: (
            mapping.freshworks_username,
            mapping.user.username if mapping.user else None,
        )
        for mapping in FreshworksUserMapping.objects.select_related("user")
    }


# --- match_user --------------------------------------------------------------------------------


def test_normalising_drops_case_accents_spaces_and_punctuation() -> None:
    assert normalise("  José  Núñez-O'Grady. ") == "josenunezogrady"


def test_an_exact_username_matches() -> None:
    oscar = person("oscar.solis", "Oscar", "Solis")

    assert match_user("Oscar.Solis", [person("aj"), oscar]) == (
        oscar,
        "username",
        "matched by username",
    )


def test_a_username_matches_with_punctuation_and_spaces_ignored() -> None:
    cole = person("cole.ogrady")

    assert match_user("Cole O'Grady", [cole]) == (cole, "username", "matched by username")


def test_a_full_name_matches() -> None:
    aj = person("ajt", "AJ", "Thompson")

    assert match_user("AJ Thompson", [person("oscar.solis"), aj]) == (
        aj,
        "full name",
        "matched by full name",
    )


def test_a_first_name_and_initial_matches_a_username_starting_with_them() -> None:
    oscar = person("oscar.solis")

    assert match_user("Oscar S.", [oscar, person("olga.solis")]) == (
        oscar,
        "partial",
        "matched by partial name",
    )


def test_a_first_name_and_initial_matches_first_and_last_name() -> None:
    oscar = person("osolis", "Oscar", "Solis")

    assert match_user("Oscar S.", [oscar]) == (oscar, "partial", "matched by partial name")


def test_accents_are_ignored_for_usernames_and_names() -> None:
    by_username = person("jose.nunez")
    by_name = person("jn42", "José", "Núñez")

    assert match_user("José Núñez", [by_username])[0] == by_username
    assert match_user("José Núñez", [by_name])[:2] == (by_name, "full name")
    assert match_user("Jose Nunez", [by_name])[:2] == (by_name, "full name")


def test_an_ambiguous_name_matches_nobody() -> None:
    users = [person("oscar.solis"), person("oscar.sanchez")]

    assert match_user("Oscar S.", users) == (
        None,
        None,
        "ambiguous: 2 users match by partial name (oscar.sanchez, oscar.solis)",
    )


def test_the_first_rule_with_a_candidate_decides() -> None:
    by_username = person("oscarsolis")
    by_full_name = person("os", "Oscar", "Solis")

    assert match_user("Oscar Solis", [by_full_name, by_username])[:2] == (by_username, "username")


def test_an_ambiguous_earlier_rule_does_not_fall_through_to_a_later_one() -> None:
    users = [person("a", "Oscar", "Solis"), person("b", "Oscar", "Solis"), person("oscar.solis2")]

    user, rule, reason = match_user("Oscar Solis", users)

    assert (user, rule) == (None, None)
    assert reason == "ambiguous: 2 users match by full name (a, b)"


def test_a_single_word_name_does_not_use_the_partial_rule() -> None:
    assert match_user("Oscar", [person("oscar.solis", "Oscar", "Solis")]) == (
        None,
        None,
        "no local user matches",
    )


def test_a_name_without_letters_or_digits_matches_nobody() -> None:
    user, _, reason = match_user("...", [person("oscar.solis")])

    assert user is None
    assert "no letters or digits" in reason


# --- refresh_user_mappings ---------------------------------------------------------------------


def test_a_refresh_stores_every_entry_with_its_matched_user(db: None, ids_file: Path) -> None:
    make_user("oscar.solis", "Oscar", "Solis")
    make_user("cole.ogrady", "Cole", "O'Grady")
    write(ids_file, "Oscar S. - 12345", "AJ Thompson - 67890", "Cole O'Grady - 11111")

    report = refresh_user_mappings(path=ids_file)

    assert mappings() == {
        12345: ("Oscar S.", "oscar.solis"),
        67890: ("AJ Thompson", None),
        11111: ("Cole O'Grady", "cole.ogrady"),
    }
    assert [(o.name, o.username, o.rule) for o in report.matched] == [
        ("Oscar S.", "oscar.solis", "partial"),
        ("Cole O'Grady", "cole.ogrady", "username"),
    ]
    assert [(o.name, o.reason) for o in report.unmatched] == [
        ("AJ Thompson", "no local user matches")
    ]
    assert report.path == str(ids_file)


def test_an_ambiguous_entry_is_stored_without_a_user(db: None, ids_file: Path) -> None:
    make_user("oscar.solis")
    make_user("oscar.sanchez")
    write(ids_file, "Oscar S. - 12345")

    report = refresh_user_mappings(path=ids_file)

    assert mappings() == {12345: ("Oscar S.", None)}
    assert report.unmatched[0].reason.startswith("ambiguous: 2 users match")


def test_a_refresh_updates_changed_entries_and_removes_stale_ones(db: None, ids_file: Path) -> None:
    oscar = make_user("oscar.solis", "Oscar", "Solis")
    FreshworksUserMapping.objects.create(freshworks_user_id=12345, freshworks_username="Old name")
    FreshworksUserMapping.objects.create(
        freshworks_user_id=99999, freshworks_username="Gone", user=oscar
    )
    write(ids_file, "Oscar S. - 12345")

    report = refresh_user_mappings(path=ids_file)

    assert mappings() == {12345: ("Oscar S.", "oscar.solis")}
    assert report.removed == [99999]


def test_a_refresh_reports_bad_lines_and_loads_the_rest(db: None, ids_file: Path) -> None:
    write(ids_file, "# header", "Oscar S. - 12345", "garbage", "AJ Thompson - 12345", "Cole - 3")

    report = refresh_user_mappings(path=ids_file)

    assert sorted(mappings()) == [3, 12345]
    assert [(problem.line, problem.text) for problem in report.problems] == [
        (3, "garbage"),
        (4, "AJ Thompson - 12345"),
    ]


def test_a_refresh_relinks_existing_closures_to_the_newly_matched_user(
    db: None, ids_file: Path
) -> None:
    write(ids_file, "Oscar S. - 12345")
    refresh_user_mappings(path=ids_file)
    closure = TicketClosure.objects.create(freshworks_user_id=12345, date=DAY, tickets_closed=4)
    oscar = make_user("oscar.solis", "Oscar", "Solis")

    report = refresh_user_mappings(path=ids_file)

    closure.refresh_from_db()
    assert closure.user == oscar
    assert report.relinked_closures == 1


def test_a_refresh_unlinks_closures_of_agents_no_longer_matched(db: None, ids_file: Path) -> None:
    oscar = make_user("oscar.solis")
    FreshworksUserMapping.objects.create(
        freshworks_user_id=12345, freshworks_username="Oscar S.", user=oscar
    )
    for offset in range(3):
        TicketClosure.objects.create(
            freshworks_user_id=12345,
            date=DAY + timedelta(days=offset),
            tickets_closed=1,
            user=oscar,
        )
    unmapped = TicketClosure.objects.create(
        freshworks_user_id=555, date=DAY, tickets_closed=2, user=oscar
    )
    make_user("oscar.sanchez")  # now "Oscar S." is ambiguous
    write(ids_file, "Oscar S. - 12345")

    report = refresh_user_mappings(path=ids_file)

    assert not TicketClosure.objects.filter(user__isnull=False).exists()
    unmapped.refresh_from_db()
    assert unmapped.user is None
    assert report.relinked_closures == 4


def test_a_second_refresh_of_the_same_file_changes_nothing(db: None, ids_file: Path) -> None:
    oscar = make_user("oscar.solis")
    write(ids_file, "Oscar S. - 12345")
    TicketClosure.objects.create(freshworks_user_id=12345, date=DAY, tickets_closed=1)
    refresh_user_mappings(path=ids_file)
    stamp = FreshworksUserMapping.objects.get().updated_at

    report = refresh_user_mappings(path=ids_file)

    assert report.relinked_closures == 0
    assert report.removed == []
    assert FreshworksUserMapping.objects.get().updated_at == stamp
    assert TicketClosure.objects.get().user == oscar


@pytest.mark.parametrize(
    "content", [None, "", "# only comments\n\n", "no valid line here\n"], ids=str
)
def test_an_unusable_file_is_an_error_and_changes_nothing(
    db: None, ids_file: Path, content: str | None
) -> None:
    oscar = make_user("oscar.solis")
    FreshworksUserMapping.objects.create(
        freshworks_user_id=12345, freshworks_username="Oscar S.", user=oscar
    )
    closure = TicketClosure.objects.create(
        freshworks_user_id=12345, date=DAY, tickets_closed=1, user=oscar
    )
    if content is not None:
        ids_file.write_text(content, encoding="utf-8")

    with pytest.raises(IdsFileError):
        refresh_user_mappings(path=ids_file)

    assert mappings() == {12345: ("Oscar S.", "oscar.solis")}
    closure.refresh_from_db()
    assert closure.user == oscar


def test_the_default_file_is_the_setting_relative_to_the_project(db: None, settings) -> None:
    settings.FRESH_IDS_FILE = "freshworks/IDs.example.txt"

    report = refresh_user_mappings()

    assert report.path == str(Path(settings.BASE_DIR) / "freshworks" / "IDs.example.txt")
    assert sorted(mappings()) == [11111, 12345, 67890]


def test_a_refresh_logs_a_summary(
    db: None, ids_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_user("oscar.solis")
    write(ids_file, "Oscar S. - 12345", "AJ Thompson - 67890")

    with _capture_tickets_log(caplog):
        refresh_user_mappings(path=ids_file)

    assert "2 entries, 1 matched, 1 unmatched" in caplog.text


def test_a_refresh_of_many_entries_runs_a_fixed_number_of_queries(
    db: None, ids_file: Path, django_assert_max_num_queries
) -> None:
    lines = []
    for n in range(50):
        make_user(f"agent.{n}x", f"Agent{n}", "X")
        lines.append(f"Agent{n} X - {1000 + n}")
        TicketClosure.objects.create(freshworks_user_id=1000 + n, date=DAY, tickets_closed=1)
    for n in range(10):
        FreshworksUserMapping.objects.create(freshworks_user_id=1000 + n, freshworks_username="old")
    FreshworksUserMapping.objects.create(freshworks_user_id=1, freshworks_username="stale")
    write(ids_file, *lines)

    # Users, mappings, the data version, delete, insert, update, closures grouped, relink, and
    # the savepoint pair.
    with django_assert_max_num_queries(10):
        report = refresh_user_mappings(path=ids_file)

    assert len(report.matched) == 50
    assert report.removed == [1]
    assert report.relinked_closures == 50
    assert not TicketClosure.objects.filter(user__isnull=True).exists()


# --- the command -------------------------------------------------------------------------------


def test_the_command_reports_matches_misses_problems_and_removals(db: None, ids_file: Path) -> None:
    make_user("oscar.solis", "Oscar", "Solis")
    make_user("jose.nunez")
    make_user("pat.smith")
    make_user("pat.stone")
    FreshworksUserMapping.objects.create(freshworks_user_id=99999, freshworks_username="Gone")
    TicketClosure.objects.create(freshworks_user_id=12345, date=DAY, tickets_closed=2)
    write(
        ids_file,
        "# team",
        "Oscar S. - 12345",
        "José Núñez - 4242",
        "AJ Thompson - 67890",
        "Pat S. - 777",
        "not a line",
        "Oscar again - 12345",
    )

    output = run_command("--file", str(ids_file))

    assert f"Loaded 4 entries from {ids_file}." in output
    assert "Oscar S. (12345) -> oscar.solis, matched by partial name" in output
    assert "José Núñez (4242) -> jose.nunez, matched by username" in output
    assert "AJ Thompson (67890): no local user matches" in output
    assert "Pat S. (777): ambiguous: 2 users match by partial name (pat.smith, pat.stone)" in output
    assert "line 6: 'not a line': expected 'Name - ID'" in output
    assert "line 7: 'Oscar again - 12345': duplicate ID 12345" in output
    assert "Removed 1 mappings no longer in the file: 99999" in output
    assert "Relinked 1 closure rows." in output


def test_the_command_reads_the_configured_file_by_default(
    db: None, ids_file: Path, settings
) -> None:
    settings.FRESH_IDS_FILE = str(write(ids_file, "Cole O'Grady - 11111"))

    output = run_command()

    assert "Cole O'Grady (11111): no local user matches" in output
    assert mappings() == {11111: ("Cole O'Grady", None)}


@pytest.mark.parametrize(
    ("content", "message_part"),
    [
        (None, "does not exist"),
        ("", "is empty or holds only comments"),
        ("# only comments\n", "is empty or holds only comments"),
    ],
    ids=["missing", "empty", "comments-only"],
)
def test_the_command_exits_1_with_one_line_and_changes_nothing_for_an_unusable_file(
    db: None, ids_file: Path, content: str | None, message_part: str
) -> None:
    FreshworksUserMapping.objects.create(freshworks_user_id=12345, freshworks_username="Oscar S.")
    if content is not None:
        ids_file.write_text(content, encoding="utf-8")

    with pytest.raises(CommandError) as excinfo:
        run_command("--file", str(ids_file))

    message = str(excinfo.value)
    assert excinfo.value.returncode == 1
    assert message_part in message
    assert message.endswith("Nothing was changed.")
    assert "\n" not in message
    assert mappings() == {12345: ("Oscar S.", None)}


@contextmanager
def _capture_tickets_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The `tickets` logger does not propagate to the root logger that caplog listens on."""
    logger = logging.getLogger("tickets")
    logger.addHandler(caplog.handler)
    try:
        yield
    finally:
        logger.removeHandler(caplog.handler)
