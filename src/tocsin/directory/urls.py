"""Routes of the directory pages, mounted at /directory/."""

from django.urls import path

from . import views, views_access, views_breach, views_import, views_people, views_roles

urlpatterns = [
    path("people/", views_people.people, name="directory-people"),
    path("people/export.csv", views_import.people_export, name="directory-people-export"),
    path("people/<int:person_id>/", views_people.person_detail, name="directory-person"),
    path("people/<int:person_id>/history/", views_people.person_history, name="directory-person-history"),
    path("people/<int:person_id>/methods/new/", views_people.method_add, name="directory-method-add"),
    path("people/<int:person_id>/delegate/", views_people.delegate, name="directory-delegate"),
    path("methods/<int:method_id>/reveal/", views_people.reveal, name="directory-method-reveal"),
    path("methods/<int:method_id>/edit/", views_people.method_edit, name="directory-method-edit"),
    path("methods/<int:method_id>/verify/", views_people.method_verify, name="directory-method-verify"),
    path(
        "methods/<int:method_id>/restore/<int:history_id>/", views_people.method_restore,
        name="directory-method-restore",
    ),
    path("roles/", views_roles.roles, name="directory-roles"),
    path("sheet/", views_roles.contact_sheet, name="directory-sheet"),
    path("compliance/", views_roles.compliance_page, name="directory-compliance"),
    path("access/", views_access.access, name="directory-access"),
    path("access/request/", views_access.grant_request, name="directory-grant-request"),
    path("access/grants/<int:grant_id>/<slug:action>/", views_access.grant_action, name="directory-grant-action"),
    path("access/roles/<int:assignment_id>/revoke/", views_access.role_revoke, name="directory-role-revoke"),
    path("access/review.csv", views_access.review_csv, name="directory-access-review-csv"),
    path("import/", views_import.import_page, name="directory-import"),
    path("import/apply/", views_import.import_apply, name="directory-import-apply"),
    path("import/discard/", views_import.import_discard, name="directory-import-discard"),
    path("import/conflicts/", views_import.conflicts, name="directory-import-conflicts"),
    path(
        "import/conflicts/<int:conflict_id>/resolve/", views_import.conflict_resolve,
        name="directory-import-conflict-resolve",
    ),
    path("breaches/", views_breach.breach_list, name="directory-breaches"),
    path("breaches/<int:breach_id>/", views_breach.breach_detail, name="directory-breach"),
    path(
        "breaches/<int:breach_id>/obligations/<int:obligation_id>/done/", views_breach.obligation_done,
        name="directory-breach-obligation-done",
    ),
    path("confirm/<str:token>/", views.confirm_details, name="directory-confirm"),
]
