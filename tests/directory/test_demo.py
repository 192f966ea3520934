"""The demo organisation: realistic, idempotent, and showing the cases a steward must act on."""

from django.core.management import call_command

from tocsin.directory import compliance
from tocsin.directory.models import ContactMethod, OrgRole, Person, Site


def test_demo_directory(db, capsys):
    call_command("demo", "--password", "demo-password-123")
    call_command("demo", "--password", "demo-password-123")
    assert "60 people at 3 sites" in capsys.readouterr().out
    assert Person.objects.count() == 60 and Site.objects.count() == 3
    assert Person.objects.filter(is_vendor=True).count() == 2
    assert len({p.time_zone for p in Person.objects.all()}) == 3
    assert [r.slug for r in compliance.coverage_gaps()] == ["database-on-call"]
    assert len(compliance.overdue_validations()) == 4
    sheet = [level.role.name for level in compliance.contact_sheet()]
    assert sheet == ["IT Help Desk", "IT Manager", "Chief Technology Officer"]
    assert ContactMethod.objects.filter(role=OrgRole.objects.get(slug="it-help-desk")).count() == 2
    assert Person.objects.get(name="Dora Novák").user.username == "dora.novak"


def test_remind_lists_overdue_people_with_working_confirm_links(db, capsys):
    from django.test import Client

    call_command("demo", "--password", "demo-password-123")
    capsys.readouterr()
    call_command("remind")
    output = capsys.readouterr().out
    assert output.startswith("dora.novak: 4 overdue")
    link = output.splitlines()[1].rsplit(" ", 1)[1]
    path = link.split("8000", 1)[1]
    page = Client().get(path)
    assert page.status_code == 200
    assert Client().post(path).status_code in (200, 302)
    assert len(compliance.overdue_validations()) == 3
