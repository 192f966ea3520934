"""D1, DESIGN "Time zones": properties of the timeline around DST changes, in zones that
spring forward, fall back, do so in the southern hemisphere, or never do (Kolkata)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from tocsin.oncall import timeline
from tocsin.oncall.loading import People
from tocsin.oncall.rotation import Rotation, Window, step_of
from tocsin.oncall.timeline import CompiledLayer, CompiledOverride, Plan
from tocsin.oncall.wallclock import local, to_utc

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
# Instants near the 2026 changes of the first three zones (and arbitrary ones for Kolkata).
CHANGES = [
    datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC),
    datetime(2026, 4, 4, 16, tzinfo=UTC), datetime(2026, 10, 3, 16, tzinfo=UTC),
]
PEOPLE = People(active=set(range(1, 20)), holdings={}, delegations={})

zones = st.sampled_from(ZONES).map(ZoneInfo)
handoffs = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
steps = st.one_of(
    st.sampled_from(["daily", "weekly"]).map(lambda r: step_of(r, 1, "days")),
    st.integers(1, 48).map(lambda n: timedelta(hours=n)),
    st.integers(1, 10).map(lambda n: timedelta(days=n)),
)
windows = st.builds(
    lambda change, before, days: (change - timedelta(hours=before), change - timedelta(hours=before) + timedelta(days=days)),
    st.sampled_from(CHANGES), st.integers(0, 24 * 20), st.integers(1, 30),
)


def rotation_layer(layer_id, level, tz, start_date, handoff, step, slots, shift_size=1, windows_=()):
    rotation = Rotation(tz=tz, start_date=start_date, handoff=handoff, step=step, shift_size=shift_size,
                        slots=len(slots), windows=windows_)
    return CompiledLayer(layer_id, level, f"L{layer_id}", rotation=rotation, slots=tuple(("person", p) for p in slots))


@st.composite
def covering_plans(draw):
    """A base rotation that started long ago (it covers everything), under zero to two
    restricted layers (business hours, nights) of other people."""
    tz = draw(zones)
    layers = [rotation_layer(1, 1, tz, date(2025, 1, 1), draw(handoffs), draw(steps),
                             list(range(1, draw(st.integers(1, 5)) + 1)))]
    for extra in range(draw(st.integers(0, 2))):
        window = Window(frozenset(draw(st.sets(st.integers(0, 6), min_size=1))), draw(handoffs), draw(handoffs))
        layers.append(rotation_layer(extra + 2, extra + 2, tz, date(2025, 6, 1), draw(handoffs), draw(steps),
                                     [10 + extra * 3, 11 + extra * 3], windows_=(window,)))
    return Plan(1, tz, layers, [])


def assert_tiles(shifts, start, end):
    """Exactly one person at every instant: consecutive shifts, no gap, no overlap."""
    assert shifts, "nobody on call at all"
    assert shifts[0].start == start and shifts[-1].end == end
    for before, after in zip(shifts, shifts[1:]):
        assert before.end == after.start, f"gap or overlap between {before} and {after}"
    assert all(s.end > s.start for s in shifts)


@given(covering_plans(), windows)
def test_covering_layers_leave_no_gap_and_no_overlap(plan, window):
    start, end = window
    shifts, gaps = timeline.timeline(plan, start, end, PEOPLE)
    assert gaps == []
    assert_tiles(shifts, start, end)


@given(covering_plans(), windows, st.data())
def test_point_query_agrees_with_the_timeline(plan, window, data):
    start, end = window
    shifts, _ = timeline.timeline(plan, start, end, PEOPLE)
    instant = start + (end - start) * data.draw(st.floats(0, 0.999))
    expected = sorted((s.assignment for s in shifts if s.start <= instant < s.end), key=lambda a: a.person_id)
    assert timeline.oncall_at(plan, instant, PEOPLE) == expected


@given(covering_plans(), windows, st.data())
def test_an_override_always_wins(plan, window, data):
    start, end = window
    begin = start + (end - start) * data.draw(st.floats(0, 0.9))
    finish = begin + timedelta(minutes=data.draw(st.integers(1, 60 * 24 * 5)))
    plan = Plan(plan.schedule_id, plan.tz, list(plan.layers), [CompiledOverride(99, 19, None, begin, finish)])
    shifts, gaps = timeline.timeline(plan, start, end, PEOPLE)
    assert gaps == []
    covering = [s for s in shifts if s.start < finish and s.end > begin]
    inside = [s for s in covering if s.person_id == 19]
    assert len(inside) == 1 and inside[0].start <= max(begin, start) and inside[0].end >= min(finish, end)
    assert all(s.person_id == 19 or s.end <= begin or s.start >= finish for s in shifts)
    probe = begin + (finish - begin) * data.draw(st.floats(0, 0.999))
    assert [a.person_id for a in timeline.oncall_at(plan, probe, PEOPLE)] == [19]


@given(covering_plans(), windows)
def test_the_result_is_deterministic(plan, window):
    start, end = window
    first = timeline.timeline(plan, start, end, PEOPLE)
    again = timeline.timeline(plan, start, end, PEOPLE)
    assert first == again
    # Splitting the window changes nothing but the cut.
    middle = start + (end - start) / 2
    left, _ = timeline.timeline(plan, start, middle, PEOPLE)
    right, _ = timeline.timeline(plan, middle, end, PEOPLE)
    glued = left[:-1] + [left[-1].__class__(left[-1].start, right[0].end, left[-1].assignment)] + right[1:] \
        if left[-1].assignment == right[0].assignment else left + right
    assert glued == first[0]


@given(zones, st.dates(date(2025, 1, 1), date(2027, 12, 31)), handoffs)
def test_handoffs_keep_local_time_and_shifts_their_true_length(tz, start_date, handoff):
    step = timedelta(days=1)
    rotation = Rotation(tz=tz, start_date=start_date, handoff=handoff, step=step, shift_size=1, slots=2)
    for k in range(0, 400, 37):
        begin, finish = rotation.boundary(k), rotation.boundary(k + 1)
        wall, next_wall = (datetime.combine(start_date + n * step, handoff) for n in (k, k + 1))
        if local(begin, tz) == wall:
            assert begin.astimezone(tz).fold == 0  # an ambiguous handoff happens at its first occurrence
        else:
            # The handoff fell into the spring-forward gap: it happens at the jump itself.
            assert local(begin, tz) > wall > local(begin - timedelta(seconds=1), tz)
        if local(begin, tz) == wall and local(finish, tz) == next_wall:
            # A day of wall-clock time, less whatever the clocks jumped in between.
            shift = begin.astimezone(tz).utcoffset() - finish.astimezone(tz).utcoffset()
            assert finish - begin == timedelta(days=1) + shift


def test_gap_and_fold_rules_by_example():
    berlin, new_york, sydney = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("Australia/Sydney")
    # Spring forward: 02:30 does not exist; the handoff happens at 03:00 local, the jump.
    assert to_utc(datetime(2026, 3, 29, 2, 30), berlin) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert to_utc(datetime(2026, 3, 8, 2, 30), new_york) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert to_utc(datetime(2026, 10, 4, 2, 15), sydney) == datetime(2026, 10, 3, 16, 0, tzinfo=UTC)
    # Fall back: 02:30 happens twice; the first occurrence counts.
    assert to_utc(datetime(2026, 10, 25, 2, 30), berlin) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert to_utc(datetime(2026, 11, 1, 1, 30), new_york) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert to_utc(datetime(2026, 4, 5, 2, 30), sydney) == datetime(2026, 4, 4, 15, 30, tzinfo=UTC)


def test_daily_shift_lengths_across_both_changes():
    berlin = ZoneInfo("Europe/Berlin")
    rotation = Rotation(tz=berlin, start_date=date(2026, 3, 27), handoff=time(9), step=timedelta(days=1),
                        shift_size=1, slots=2)
    lengths = [rotation.boundary(k + 1) - rotation.boundary(k) for k in range(4)]
    assert lengths == [timedelta(hours=24), timedelta(hours=23), timedelta(hours=24), timedelta(hours=24)]
    autumn = Rotation(tz=berlin, start_date=date(2026, 10, 24), handoff=time(9), step=timedelta(days=1),
                      shift_size=1, slots=2)
    assert autumn.boundary(1) - autumn.boundary(0) == timedelta(hours=25)
    assert local(autumn.boundary(1), berlin) == datetime(2026, 10, 25, 9)


@given(zones, st.sampled_from(CHANGES), st.integers(-4 * 3600, 4 * 3600), handoffs, handoffs,
       st.sets(st.integers(0, 6), min_size=1))
def test_restriction_windows_are_exact_around_the_changes(tz, change, seconds, opens, closes, days):
    """Reading wall clocks is a shortcut; it must agree with the UTC bounds of every window."""
    window = Window(frozenset(days), opens, closes)
    rotation = Rotation(tz=tz, start_date=date(2025, 1, 1), handoff=time(0), step=timedelta(days=1), shift_size=1,
                        slots=1, windows=(window,))
    instant = change + timedelta(seconds=seconds)
    today = local(instant, tz).date()
    expected = any(
        begin <= instant < finish
        for day in (today - timedelta(days=1), today) if day.weekday() in window.days
        for begin, finish in [window.occurrence(day, tz)]
    )
    assert (rotation.on_duty(instant) is not None) == expected
