"""Pure notify rules: channels, quiet hours, backoff, signatures, patterns, inbox keys."""

from datetime import UTC, datetime, timedelta

import pytest

from services.notify import domain

pytestmark = pytest.mark.unit


def test_inbox_keys_cover_the_person_and_the_roles_jurisdiction():
    assert domain.inbox_keys("L1", ("liaison",), ()) == ["person:L1"]
    assert domain.inbox_keys(None, ("township_officer",), ("431102101", "431102102")) == [
        "role:township_officer:431102101", "role:township_officer:431102102"]
    assert domain.inbox_keys(None, ("district_admin",), ()) == ["role:district_admin:district"]
    assert domain.inbox_keys(None, ("discipline_inspector",), ()) == [
        "role:discipline_inspector:district"]
    assert domain.inbox_keys(None, ("public",), ()) == []


def test_channels_per_priority_with_preferences():
    assert domain.channels_for("normal", None) == ["inbox", "email", "sms"]
    assert domain.channels_for("low", None) == ["inbox", "digest"]
    assert domain.channels_for("normal", {"normal": ["email"]}) == ["inbox", "email"]
    # digest is for low priority only: a normal item asked for digest goes by e-mail now
    assert domain.channels_for("high", {"high": ["digest"]}) == ["inbox", "email"]
    assert domain.channels_for("urgent", None, {"urgent": ["sms"]}) == ["inbox", "sms"]


def at_local(hour, minute=0):
    return datetime(2026, 11, 26, hour, minute, tzinfo=domain.LOCAL).astimezone(UTC)


def test_quiet_hours_defer_non_urgent_sms_to_the_end_of_the_window():
    late = domain.quiet_until(at_local(23, 30), "22:00", "07:00", "normal")
    assert late == datetime(2026, 11, 27, 7, 0, tzinfo=domain.LOCAL)
    early = domain.quiet_until(at_local(6, 0), "22:00", "07:00", "high")
    assert early == datetime(2026, 11, 26, 7, 0, tzinfo=domain.LOCAL)
    assert domain.quiet_until(at_local(12, 0), "22:00", "07:00", "normal") is None
    assert domain.quiet_until(at_local(23, 30), "22:00", "07:00", "urgent") is None
    assert domain.quiet_until(at_local(12, 30), "12:00", "14:00", "low") == at_local(14, 0)
    assert domain.quiet_until(at_local(23, 30), None, None, "normal") is None


def test_backoff_doubles_up_to_the_cap():
    delays = [domain.backoff(n, 30, 600) for n in range(1, 7)]
    assert delays == [timedelta(seconds=s) for s in (30, 60, 120, 240, 480, 600)]


def test_signature_covers_timestamp_and_body():
    signature = domain.sign("s3cret", "1764122400", b'{"a":1}')
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert domain.verify("s3cret", "1764122400", b'{"a":1}', signature)
    assert not domain.verify("s3cret", "1764122401", b'{"a":1}', signature)
    assert not domain.verify("s3cret", "1764122400", b'{"a":2}', signature)
    assert not domain.verify("other", "1764122400", b'{"a":1}', signature)


@pytest.mark.parametrize("pattern,event_type,matches", [
    ("clue.referred", "clue.referred", True),
    ("clue.*", "clue.referred", True),
    ("clue.*", "petition.referred", False),
    ("#", "meeting.held", True),
    ("petition.#", "petition.due_soon", True),
    ("*.overdue", "resolution.overdue", True),
    ("*.overdue", "petition.assigned", False),
])
def test_patterns_follow_amqp_topic_semantics(pattern, event_type, matches):
    assert domain.pattern_matches(pattern, event_type) is matches
    assert domain.PATTERN.match(pattern)


def test_missing_fields_render_as_a_dash_never_as_a_placeholder():
    message = domain.render("标题 $village_name\n正文 $due, $flag", {"flag": True})
    assert message.subject == "标题 —" and message.body == "正文 —, 是"


def test_date_times_in_payloads_are_shown_in_local_time_dates_as_they_are():
    message = domain.render("会议 $starts_at\n期限 $due, 召开 $held_at, 编号 $petition_id", {
        "starts_at": "2026-12-05T01:30:00+00:00", "due": "2026-12-31",
        "held_at": "2026-11-25T16:30:00Z", "petition_id": "PT-2026"})
    assert message.subject == "会议 2026-12-05 09:30"
    assert message.body == "期限 2026-12-31, 召开 2026-11-26 00:30, 编号 PT-2026"


def test_unknown_village_group_is_a_bug():
    with pytest.raises(ValueError):
        domain.village("treasurers")
