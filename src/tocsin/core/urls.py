"""Routes for sign-in, the user's account and administration."""

from django.urls import path, re_path

from . import account_views, admin_views, auth_views

urlpatterns = [
    path("login/", auth_views.login_view, name="login"),
    path("login/mfa/", auth_views.login_mfa_view, name="login-mfa"),
    path("logout/", auth_views.logout_view, name="logout"),
    path("account/", account_views.account, name="account"),
    path("account/step-up/", auth_views.step_up_view, name="account-step-up"),
    path("account/mfa/enrol/", account_views.mfa_enrol, name="account-mfa-enrol"),
    path("account/mfa/recovery-codes/", account_views.regenerate_recovery_codes, name="account-recovery-codes"),
    path("account/tokens/", account_views.create_token, name="account-token-create"),
    path("account/tokens/<int:token_id>/revoke/", account_views.revoke_token, name="account-token-revoke"),
    path("admin/users/", admin_views.users, name="admin-users"),
    path("admin/users/new/", admin_views.user_create, name="admin-user-create"),
    path("admin/users/<int:user_id>/", admin_views.user_detail, name="admin-user"),
    path("admin/users/<int:user_id>/<slug:action>/", admin_views.user_action, name="admin-user-action"),
    path("admin/teams/", admin_views.teams, name="admin-teams"),
    path("admin/mfa-policy/", admin_views.role_policies, name="admin-role-policies"),
    path("audit/", admin_views.audit_log, name="audit"),
    re_path(r"^audit/export\.(?P<fmt>csv|json)$", admin_views.audit_download, name="audit-export"),
]
