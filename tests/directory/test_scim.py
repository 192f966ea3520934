"""SCIM 2.0 provisioning: real HTTP round trips, identity-provider quirks, bad input and authorisation."""

import json

import httpx
import pytest

from tocsin.core import audit
from tocsin.core import services as core_services
from tocsin.core.models import AuditEntry, Team
from tocsin.directory import services
from tocsin.directory.compliance import coverage_gaps
from tocsin.directory.models import ContactMethod, ExternalId, Person, RoleHolding

SYSTEM = audit.Actor.system("test")
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_JSON = "application/scim+json"


def token_for(user, scopes=("contacts:write",)):
    _, secret = core_services.issue_token(user, actor=SYSTEM, name="idp", scopes=list(scopes))
    return secret


@pytest.fixture
def admin_secret(make_user):
    return token_for(make_user("idp-admin", roles=["admin"]))


def new_user(user_name="ana.silva@example.org", **extra):
    body = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": user_name,
        "externalId": extra.pop("externalId", f"ext-{user_name}"),
        "name": {"givenName": "Ana", "familyName": "Silva"},
        "displayName": "Ana Silva",
        "active": True,
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+49 30 1234567", "type": "mobile"}],
        "timezone": "Europe/Berlin",
        ENTERPRISE: {"department": "Network"},
    }
    body.update(extra)
    return body


def patch(*operations):
    return {"schemas": [PATCH], "Operations": list(operations)}


def audit_text():
    return json.dumps(list(AuditEntry.objects.values_list("summary", flat=True)))


def assert_error(response, status, scim_type=None, detail=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(SCIM_JSON) if hasattr(response, "__getitem__") else True
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    if detail is not None:
        assert detail in body["detail"], body["detail"]
    return body


# --- real HTTP round trips ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_user_round_trip_over_http(live_server, make_user):
    secret = token_for(make_user("idp-admin", roles=["admin"]))
    role = services.create_role(actor=SYSTEM, name="Network on-call", critical=True)
    base = f"{live_server.url}/scim/v2"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}", "Content-Type": SCIM_JSON}) as http:
        created = http.post("/Users", content=json.dumps(new_user()))
        assert created.status_code == 201, created.text
        assert created.headers["content-type"].startswith(SCIM_JSON)
        user = created.json()
        user_id = user["id"]
        assert created.headers["location"].endswith(f"/scim/v2/Users/{user_id}")
        assert user["userName"] == "ana.silva@example.org"
        assert user["displayName"] == "Ana Silva" and user["active"] is True
        assert user["emails"] == [{"value": "ana.silva@example.org", "type": "work", "primary": True}]
        assert user["phoneNumbers"] == [{"value": "+49301234567", "type": "mobile"}]
        assert user["timezone"] == "Europe/Berlin"

        person = Person.objects.get(pk=user_id)
        services.assign_holder(role, person, actor=SYSTEM, source="cli")
        assert role not in coverage_gaps()

        by_name = http.get("/Users", params={"filter": 'userName eq "ANA.SILVA@example.org"'}).json()
        assert by_name["totalResults"] == 1 and by_name["Resources"][0]["id"] == user_id
        by_email = http.get("/Users", params={"filter": 'emails.value eq "Ana.Silva@EXAMPLE.org"'}).json()
        assert [r["id"] for r in by_email["Resources"]] == [user_id]
        both = http.get(
            "/Users", params={"filter": 'externalId eq "ext-ana.silva@example.org" and userName eq "ana.silva@example.org"'}
        ).json()
        assert both["totalResults"] == 1
        nobody = http.get("/Users", params={"filter": 'userName eq "nobody@example.org"'}).json()
        assert nobody["totalResults"] == 0 and nobody["Resources"] == []

        # Entra ID: no path, the attributes in `value`, the boolean as a capitalised string.
        entra = http.patch(f"/Users/{user_id}", content=json.dumps(patch({"op": "Replace", "value": {"active": "False"}})))
        assert entra.status_code == 200, entra.text
        assert entra.json()["active"] is False
        assert http.get(f"/Users/{user_id}").json()["active"] is False

        holding = RoleHolding.objects.get(role=role, person_id=user_id)
        assert holding.ends_at is not None
        assert role in coverage_gaps()
        assert not ContactMethod.objects.filter(person_id=user_id, is_active=True).exists()
        deactivated = AuditEntry.objects.get(action="person.deactivated", object_id=user_id)
        assert deactivated.summary["source"] == "scim" and deactivated.summary["roles_ended"] == ["network-on-call"]
        assert deactivated.actor_type == "token"
        assert Person.history.filter(id=user_id, history_change_reason__startswith="scim:token:").exists()

        # Reactivation brings the person and the provider's methods back, not the ended role.
        again = http.patch(f"/Users/{user_id}", content=json.dumps(patch({"op": "replace", "path": "active", "value": "True"})))
        assert again.json()["active"] is True
        assert ContactMethod.objects.filter(person_id=user_id, is_active=True).count() == 2
        assert role in coverage_gaps()

        assert http.delete(f"/Users/{user_id}").status_code == 204
        after = http.get(f"/Users/{user_id}")
        assert after.status_code == 200 and after.json()["active"] is False
        assert Person.objects.filter(pk=user_id).exists()

    summaries = audit_text()
    assert "ana.silva" not in summaries.lower()
    assert "1234567" not in summaries


@pytest.mark.django_db(transaction=True)
def test_group_round_trip_over_http(live_server, make_user):
    secret = token_for(make_user("idp-admin", roles=["admin"]))
    with httpx.Client(
        base_url=f"{live_server.url}/scim/v2", headers={"Authorization": f"Bearer {secret}", "Content-Type": SCIM_JSON}
    ) as http:
        ana = http.post("/Users", content=json.dumps(new_user("ana@example.org"))).json()["id"]
        ben = http.post("/Users", content=json.dumps(new_user("ben@example.org", displayName="Ben Ode"))).json()["id"]

        created = http.post(
            "/Groups", content=json.dumps({"schemas": [GROUP_SCHEMA], "displayName": "Network", "members": [{"value": ana}]})
        )
        assert created.status_code == 201, created.text
        group = created.json()
        assert [m["value"] for m in group["members"]] == [ana]
        team = Team.objects.get(pk=group["id"])
        assert list(team.people.values_list("pk", flat=True)) == [int(ana)]

        found = http.get("/Groups", params={"filter": 'displayName eq "network"', "excludedAttributes": "members"}).json()
        assert found["totalResults"] == 1 and "members" not in found["Resources"][0]

        changed = http.patch(
            f"/Groups/{group['id']}",
            content=json.dumps(patch(
                {"op": "Add", "path": "members", "value": [{"value": ben}]},
                {"op": "Remove", "path": f'members[value eq "{ana}"]'},
                {"op": "Replace", "value": {"displayName": "Network Ops"}},
            )),
        )
        assert changed.status_code == 204, changed.text
        group = http.get(f"/Groups/{group['id']}").json()
        assert group["displayName"] == "Network Ops"
        assert [m["value"] for m in group["members"]] == [ben]
        assert [g["display"] for g in http.get(f"/Users/{ben}").json()["groups"]] == ["Network Ops"]
        assert http.get(f"/Users/{ana}").json()["groups"] == []

        # Entra removes members by listing them in `value`.
        emptied = http.patch(
            f"/Groups/{group['id']}", content=json.dumps(patch({"op": "remove", "path": "members", "value": [{"value": ben}]}))
        )
        assert emptied.status_code == 204
        assert http.get(f"/Groups/{group['id']}").json()["members"] == []

        assert http.delete(f"/Groups/{group['id']}").status_code == 204
        assert http.get(f"/Groups/{group['id']}").status_code == 404
        assert not Team.objects.filter(pk=group["id"]).exists()


# --- identity-provider quirks (test client) ---------------------------------------------


@pytest.fixture
def scim(client, admin_secret):
    """Call the SCIM endpoint as the identity provider: scim("post", "/Users", body)."""

    def call(method, path, body=None, *, raw=None, content_type=SCIM_JSON, secret=admin_secret, **params):
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        kwargs = {"headers": headers}
        if body is not None or raw is not None:
            kwargs.update(data=raw if raw is not None else json.dumps(body), content_type=content_type)
        url = f"/scim/v2{path}"
        if params:
            return client.get(url, params, **kwargs)
        return getattr(client, method)(url, **kwargs)

    return call


def test_entra_patch_paths(scim, db):
    user_id = scim("post", "/Users", new_user())["Location"].rsplit("/", 1)[1]
    response = scim("patch", f"/Users/{user_id}", patch(
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "ana.new@example.org"},
        {"op": "Add", "path": 'emails[type eq "other"].value', "value": "ana@other.example"},
        {"op": "Replace", "path": "name.givenName", "value": "Anna"},
        {"op": "Remove", "path": 'phoneNumbers[type eq "mobile"].value'},
        {"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": "+49 30 7654321"},
        {"op": "Replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:timezone", "value": "Europe/Lisbon"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Ops"},
        {"op": "Replace", "path": "title", "value": "Engineer"},
        {"op": "Replace", "value": {"externalId": "ext-2"}},
    ))
    assert response.status_code == 200, response.content
    user = response.json()
    assert user["displayName"] == "Anna Silva"
    emails = sorted((e["type"], e["value"]) for e in user["emails"])
    assert emails == [("other", "ana@other.example"), ("work", "ana.new@example.org")]
    assert user["phoneNumbers"] == [{"value": "+49307654321", "type": "work"}]
    assert user["timezone"] == "Europe/Lisbon" and user["externalId"] == "ext-2"
    work = ContactMethod.objects.get(person_id=user_id, kind="email")
    assert work.value == "ana.new@example.org" and work.verified is False
    assert scim("get", "/Users", filter='emails.value eq "ana.new@example.org"').json()["totalResults"] == 1
    assert scim("get", "/Users", filter='emails.value eq "ana.silva@example.org"').json()["totalResults"] == 0
    assert "ana.new" not in audit_text()


def test_put_replaces_what_the_provider_owns_and_keeps_the_rest(scim, db):
    user_id = scim("post", "/Users", new_user())["Location"].rsplit("/", 1)[1]
    person = Person.objects.get(pk=user_id)
    steward_phone = services.add_method(actor=SYSTEM, source="ui", person=person, kind="satellite", value="+8816 3123 4567")
    body = new_user(userName="ana.silva@example.org", externalId="ext-9", displayName="Ana M. Silva", emails=[], phoneNumbers=[])
    del body["timezone"]
    response = scim("put", f"/Users/{user_id}", body)
    assert response.status_code == 200, response.content
    user = response.json()
    assert user["displayName"] == "Ana M. Silva" and user["emails"] == [] and user["phoneNumbers"] == []
    assert user["timezone"] == "Europe/Berlin"  # absent from a PUT: Tocsin's value stays
    assert list(ContactMethod.objects.filter(person=person).values_list("pk", flat=True)) == [steward_phone.pk]
    assert ExternalId.objects.get(person=person, source="scim:externalId").sealed == "ext-9"


def test_put_deactivates_and_reactivation_leaves_tocsin_methods_off(scim, db):
    user_id = scim("post", "/Users", new_user())["Location"].rsplit("/", 1)[1]
    person = Person.objects.get(pk=user_id)
    satellite = services.add_method(actor=SYSTEM, source="ui", person=person, kind="satellite", value="+8816 3123 4567")
    assert scim("put", f"/Users/{user_id}", new_user(active=False)).json()["active"] is False
    assert not ContactMethod.objects.filter(person=person, is_active=True).exists()
    body = scim("patch", f"/Users/{user_id}", patch({"op": "replace", "value": {"active": True}})).json()
    assert body["active"] is True
    satellite.refresh_from_db()
    assert satellite.is_active is False  # a steward confirms it before it is paged again
    assert ContactMethod.objects.filter(person=person, is_active=True, label="scim").count() == 2
    reactivated = AuditEntry.objects.get(action="person.reactivated")
    assert reactivated.summary == {"source": "scim"}
    back_on = AuditEntry.objects.filter(action="contact.method_updated", seq__gt=reactivated.seq)
    assert back_on.count() == 2 and all(e.summary["is_active"] == {"from": False, "to": True} for e in back_on)


def test_name_parts_and_okta_rename(scim, db):
    user_id = scim("post", "/Users", new_user())["Location"].rsplit("/", 1)[1]
    body = scim("patch", f"/Users/{user_id}", patch(
        {"op": "replace", "path": "name", "value": {"givenName": "Ana", "familyName": "Souza"}}
    )).json()
    assert body["displayName"] == "Ana Souza"
    body = scim("patch", f"/Users/{user_id}", patch({"op": "replace", "value": {"name.familyName": "Costa"}})).json()
    assert body["displayName"] == "Ana Costa"
    group = scim("post", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Ops", "members": [{"value": user_id}]}).json()
    # Okta repeats the id inside the value object of a rename.
    renamed = scim("patch", f"/Groups/{group['id']}", patch({"op": "replace", "value": {"id": group["id"], "displayName": "Ops 24/7"}}))
    assert renamed.status_code == 204, renamed.content
    group = scim("get", f"/Groups/{group['id']}").json()
    assert group["displayName"] == "Ops 24/7" and [m["value"] for m in group["members"]] == [user_id]
    assert Team.objects.get(pk=group["id"]).slug == "ops"  # the slug is an address; it stays
    replaced = scim("put", f"/Groups/{group['id']}", {"schemas": [GROUP_SCHEMA], "displayName": "Ops 24/7", "members": []})
    assert replaced.status_code == 200 and replaced.json()["members"] == []
    assert_error(
        scim("patch", f"/Groups/{group['id']}", patch({"op": "add", "path": "members", "value": [{"value": "777777"}]})),
        400, "invalidValue", "members: no User with id '777777'.",
    )


def test_team_with_logins_is_not_deleted(scim, make_user, db):
    group = scim("post", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Database"}).json()
    team = Team.objects.get(pk=group["id"])
    core_services.add_member(team, make_user("dba"), actor=SYSTEM)
    assert_error(scim("delete", f"/Groups/{group['id']}"), 409, None, "The team is still used by: memberships")
    assert Team.objects.filter(pk=team.pk).exists()


def test_post_with_inactive_user_and_lists_page(scim, db):
    for n in range(3):
        scim("post", "/Users", new_user(f"user{n}@example.org", active="False"))
    page = scim("get", "/Users", startIndex="2", count="1").json()
    assert page["totalResults"] == 3 and page["startIndex"] == 2 and page["itemsPerPage"] == 1
    assert page["Resources"][0]["userName"] == "user1@example.org"
    assert page["Resources"][0]["active"] is False
    assert not Person.objects.filter(is_active=True).exists()


def test_people_outside_scim_are_not_users(scim, db):
    person = services.create_person(actor=SYSTEM, source="ui", name="Local Only")
    assert_error(scim("get", f"/Users/{person.pk}"), 404, detail=f"No User with id '{person.pk}'")
    assert scim("get", "/Users").json()["totalResults"] == 0


def test_group_with_other_uses_is_not_deleted(scim, db):
    group = scim("post", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Database"}).json()
    team = Team.objects.get(pk=group["id"])
    services.add_method(actor=SYSTEM, source="ui", team=team, kind="voice", value="+49 30 1234567")
    body = assert_error(scim("delete", f"/Groups/{group['id']}"), 409, detail="still used by")
    assert "contact method" in body["detail"]
    assert Team.objects.filter(pk=team.pk).exists()


def test_discovery_documents(scim, db):
    config = scim("get", "/ServiceProviderConfig").json()
    assert config["patch"]["supported"] is True and config["filter"]["maxResults"] == 200
    types = scim("get", "/ResourceTypes").json()
    assert {t["id"] for t in types["Resources"]} == {"User", "Group"}
    schemas = scim("get", "/Schemas").json()
    assert USER_SCHEMA in {s["id"] for s in schemas["Resources"]}
    assert scim("get", f"/Schemas/{USER_SCHEMA}").json()["name"] == "User"
    assert_error(scim("get", "/Bulk"), 404)


# --- bad input ----------------------------------------------------------------------------


def test_malformed_json(scim, db):
    assert_error(scim("post", "/Users", raw='{"userName": '), 400, "invalidSyntax", "The body is not valid JSON")
    assert_error(scim("post", "/Users", raw="[1, 2]"), 400, "invalidSyntax", "The body must be a JSON object.")
    assert_error(scim("post", "/Users", raw='{"a": NaN}'), 400, "invalidSyntax", "NaN is not a JSON value")
    assert_error(scim("post", "/Users", raw="x", content_type="text/plain"), 415, None, "application/scim+json")


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"active": 5}, "'active' must be true or false."),
        ({"active": "maybe"}, "'active' must be true or false."),
        ({"userName": 123}, "'userName' must be a string, not int."),
        ({"userName": "   "}, "'userName' is required."),
        ({"userName": "a" * 201}, "'userName' is longer than 200 characters."),
        ({"name": "Ana"}, "'name' must be an object."),
        ({"emails": "ana@example.org"}, "'emails' must be a list of objects."),
        ({"emails": [{"value": "not-an-address", "type": "work"}]},
         'emails[type eq "work"].value: \'not-an-address\' is not a valid e-mail address.'),
        ({"emails": [{"value": "a@example.org", "type": "work"}, {"value": "b@example.org"}]},
         "more than one entry of type 'work'"),
        ({"emails": [{"value": "a@example.org", "type": "pigeon"}]}, "'emails' type 'pigeon' is not one of"),
        ({"phoneNumbers": [{"value": "12", "type": "mobile"}]}, 'phoneNumbers[type eq "mobile"].value: '),
        ({"timezone": "Mars/Olympus"}, "'timezone' 'Mars/Olympus' is not a known IANA time zone"),
        ({"favouriteColour": "blue"}, "Unknown attribute 'favouriteColour' in User."),
    ],
)
def test_wrong_types_are_named(scim, db, change, detail):
    assert_error(scim("post", "/Users", new_user(**change)), 400, "invalidValue", detail)
    assert not Person.objects.exists() and not ExternalId.objects.exists()  # nothing half-written


def test_unknown_schemas(scim, db):
    body = new_user(schemas=[USER_SCHEMA, "urn:example:custom"])
    assert_error(scim("post", "/Users", body), 400, "invalidSyntax", "Unknown schema 'urn:example:custom'")
    body = new_user(schemas=[GROUP_SCHEMA])
    assert_error(scim("post", "/Users", body), 400, "invalidSyntax", "Unknown schema")
    body = new_user(**{"urn:example:custom": {"x": 1}})
    assert_error(scim("post", "/Users", body), 400, "invalidSyntax", "Unknown schema extension 'urn:example:custom'")
    body = new_user()
    del body["schemas"]
    assert_error(scim("post", "/Users", body), 400, "invalidSyntax", "'schemas' must be a list")


def test_a_failing_contact_rolls_back_the_whole_user(scim, db):
    body = new_user(phoneNumbers=[{"value": "+49 30 1234567", "type": "mobile"}, {"value": "nope", "type": "work"}])
    assert_error(scim("post", "/Users", body), 400, "invalidValue", 'phoneNumbers[type eq "work"].value')
    assert Person.objects.count() == 0 and ContactMethod.objects.count() == 0


@pytest.mark.parametrize(
    ("expression", "detail"),
    [
        ('title eq "Engineer"', "Filtering Users on 'title' is not supported; use userName, externalId, emails.value or id."),
        ('userName co "ana"', "The 'co' operator is not supported"),
        ('userName eq "a" or userName eq "b"', "'or' is not supported"),
        ('not (userName eq "a")', "'not' "),
        ('emails[type eq "work"] eq "x"', "Grouping, 'not' and value filters in brackets are not supported"),
        ("userName eq", "A filter is 'attribute eq \"value\"'"),
        ("userName eq ana", "must be a quoted string"),
        ("userName eq 5", "needs a quoted string"),
    ],
)
def test_unsupported_filters(scim, db, expression, detail):
    assert_error(scim("get", "/Users", filter=expression), 400, "invalidFilter", detail)


def test_unknown_ids(scim, db):
    assert_error(scim("get", "/Users/999999"), 404, None, "No User with id '999999'.")
    assert_error(scim("get", "/Users/not-a-number"), 404, None, "No User with id 'not-a-number'.")
    assert_error(scim("patch", "/Users/999999", patch({"op": "replace", "value": {"active": False}})), 404)
    assert_error(scim("delete", "/Users/999999"), 404)
    assert_error(scim("get", "/Groups/999999"), 404, None, "No Group with id '999999'.")
    assert_error(scim("post", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "X", "members": [{"value": "424242"}]}),
                 400, "invalidValue", "members: no User with id '424242'.")
    assert not Team.objects.exists()


def test_duplicates_conflict(scim, db):
    assert scim("post", "/Users", new_user()).status_code == 201
    assert_error(scim("post", "/Users", new_user("ANA.SILVA@example.org", externalId="other")), 409, "uniqueness",
                 "userName: Another user already has this userName.")
    assert_error(scim("post", "/Users", new_user("ben@example.org", externalId="ext-ana.silva@example.org")), 409,
                 "uniqueness", "externalId: Another user already has this externalId.")
    assert Person.objects.count() == 1
    scim("post", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Network"})
    assert_error(scim("post", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "network"}), 409, "uniqueness",
                 "displayName: A group named 'network' exists already.")


@pytest.mark.parametrize(
    ("operations", "scim_type", "detail"),
    [
        (None, "invalidSyntax", "'schemas' must be a list"),
        ([], "invalidSyntax", "'Operations' must be a non-empty list."),
        ([{"op": "move", "path": "active"}], "invalidSyntax", "'op' must be add, replace or remove"),
        ([{"op": "replace", "path": "shoeSize", "value": 42}], "invalidPath", "Unknown attribute 'shoeSize' in path."),
        ([{"op": "replace", "path": "emails.value", "value": "x@example.org"}], "invalidPath", "Select the emails entry first"),
        ([{"op": "remove"}], "noTarget", "remove needs a 'path'"),
        ([{"op": "replace", "value": "False"}], "invalidValue", "'value' must be an object"),
        ([{"op": "replace", "path": "id", "value": "7"}], "mutability", "'id' is read-only."),
        ([{"op": "remove", "path": "userName"}], "invalidValue", "'userName' is required."),
        ([{"op": "replace", "path": "active", "value": False}, {"op": "replace", "path": "active", "value": "nope"}],
         "invalidValue", "'active' must be true or false."),
    ],
)
def test_bad_patches(scim, db, operations, scim_type, detail):
    user_id = scim("post", "/Users", new_user())["Location"].rsplit("/", 1)[1]
    body = {"Operations": []} if operations is None else patch(*operations)
    assert_error(scim("patch", f"/Users/{user_id}", body), 400, scim_type, detail)
    assert Person.objects.get(pk=user_id).is_active  # an earlier operation never outlives a later one's failure


def test_bad_paging_and_odd_ids(scim, db):
    assert_error(scim("get", "/Users", count="many"), 400, "invalidValue", "'count' must be an integer.")
    far = scim("get", "/Users", startIndex="99999999999999999999999")
    assert far.status_code == 200 and far.json()["Resources"] == []
    assert_error(scim("get", "/Users/\u00b2"), 404)
    assert_error(scim("get", "/Users/99999999999999999999999"), 404)
    assert_error(scim("post", "/ServiceProviderConfig", {}), 405, None, "use GET")


# --- authorisation --------------------------------------------------------------------------


def test_no_or_bad_token_is_401(scim, db):
    response = scim("get", "/Users", secret=None)
    assert_error(response, 401, None, "A valid API token is required")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_error(scim("get", "/Users", secret="tcs_nothing_here"), 401)


def test_token_without_the_scope_is_403(scim, make_user, db):
    admin = make_user("plain-admin", roles=["admin"])
    assert_error(scim("get", "/Users", secret=token_for(admin, scopes=())), 403, None, "contacts:write")
    denied = AuditEntry.objects.filter(action="permission.denied").last()
    assert denied.summary == {"permission": "contacts:write", "team": None, "target": "scim"}
    assert denied.actor_type == "token"


def test_team_bound_steward_is_403(scim, make_user, make_team, db):
    make_team("Network")
    steward = make_user("steward", roles=["contact_steward"], teams=["network"])
    assert_error(scim("post", "/Users", new_user(), secret=token_for(steward)), 403)
    assert not Person.objects.exists()


def test_idp_identifiers_are_not_stored_in_clear(scim, db):
    from django.db import connection

    scim("post", "/Users", new_user())
    with connection.cursor() as cursor:
        cursor.execute("SELECT source, value, sealed FROM directory_externalid")
        rows = cursor.fetchall()
    assert rows and all(value.startswith("h:") for _, value, _ in rows)
    assert not any("@" in value or "@" in sealed for _, value, sealed in rows)


def test_reads_are_audited_as_reveals(scim, db):
    user_id = scim("post", "/Users", new_user())["Location"].rsplit("/", 1)[1]
    scim("get", "/Users")
    scim("get", f"/Users/{user_id}")
    reads = [e.summary["people"] for e in AuditEntry.objects.filter(action="contacts.scim_read").order_by("seq")]
    assert reads == [[int(user_id)], [int(user_id)]]
