"""B9 and DESIGN's emergency use: emergency-only methods only in emergencies, and only with consent;
availability windows hold for routine paging and are ignored in an emergency."""

from datetime import datetime
from zoneinfo import ZoneInfo

from tocsin.directory import services
from tocsin.directory.reachability import usable_methods

from .conftest import SYSTEM

MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
SUNDAY_NOON = datetime(2026, 11, 22, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def test_routine_and_emergency_use(make_person, phone):
    ana = make_person("Ana")
    mobile = phone(ana, "+49 170 1111111")
    desk = services.add_method(actor=SYSTEM, person=ana, kind="voice", value="+49 30 2222222", order=1,
                               availability="Mon-Fri 08:00-18:00 Europe/Berlin")
    private = services.add_method(actor=SYSTEM, person=ana, kind="sms", value="+49 171 3333333", order=2,
                                  usage="emergency_only")
    assert usable_methods(ana, at=MONDAY_NOON) == [mobile, desk]
    assert usable_methods(ana, at=SUNDAY_NOON) == [mobile]
    assert usable_methods(ana, emergency=True, at=SUNDAY_NOON) == [mobile, desk]  # no consent yet
    services.record_consent(ana, "emergency_contact", actor=SYSTEM)
    assert usable_methods(ana, emergency=True, at=SUNDAY_NOON.replace(year=2027)) == [mobile, desk, private]
    services.withdraw_consent(ana, "emergency_contact", actor=SYSTEM)
    assert private not in usable_methods(ana, emergency=True)
    services.deactivate_person(ana, actor=SYSTEM)
    assert usable_methods(ana, emergency=True) == []
