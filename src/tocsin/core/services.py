"""Use cases that change core state. Each runs in a transaction, takes the actor and writes the audit log."""

from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import audit, tokens
from .models import ApiToken, Membership, RoleAssignment, RolePolicy, Team, User
from .permissions import PERMISSIONS, ROLES

RECOVERY_CODES = 10


def _user_state(user):
    return {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": user.is_active,
    }


_SENSITIVE_USER_FIELDS = {"email", "first_name", "last_name"}


def _clean_email(email):
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({"email": f"'{email[:80]}' is not a valid e-mail address."}) from None
    return email


def create_user(*, actor, username, email="", password=None, first_name="", last_name="", roles=()):
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": "A username is required."})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": f"The username '{username}' is taken."})
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise ValidationError({"roles": f"Unknown role(s): {', '.join(unknown)}."})
    user = User(username=username, email=_clean_email(email), first_name=first_name, last_name=last_name)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        user.save()
        audit.record(actor, "user.created", user, summary={"username": username, "roles": sorted(roles)})
        for role in roles:
            assign_role(user, role, actor=actor)
    return user


def update_user(user, *, actor, **fields):
    allowed = {"email", "first_name", "last_name"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: "This field cannot be changed here." for name in unknown})
    if "email" in fields:
        fields["email"] = _clean_email(fields["email"])
    before = _user_state(user)
    for name, value in fields.items():
        setattr(user, name, value)
    with transaction.atomic():
        user.save()
        diff = audit.changes(before, _user_state(user), sensitive=_SENSITIVE_USER_FIELDS)
        if diff:
            audit.record(actor, "user.updated", user, summary=diff)
    return user


def set_active(user, active, *, actor):
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit.record(actor, "user.activated" if active else "user.deactivated", user)
    return user


def set_password(user, password, *, actor):
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit.record(actor, "user.password_set", user)


def assign_role(user, role, *, actor, team=None):
    if role not in ROLES:
        raise ValidationError({"role": f"Unknown role '{role}'. Known roles: {', '.join(ROLES)}."})
    try:
        with transaction.atomic():
            assignment = RoleAssignment.objects.create(user=user, role=role, team=team, granted_by=_actor_user(actor))
            audit.record(actor, "role.assigned", user, summary={"role": role, "team": team.slug if team else None})
    except IntegrityError:
        raise ValidationError({"role": f"{user.username} already holds '{role}' there."}) from None
    return assignment


def revoke_role(assignment, *, actor):
    with transaction.atomic():
        summary = {"role": assignment.role, "team": assignment.team.slug if assignment.team else None}
        user = assignment.user
        assignment.delete()
        audit.record(actor, "role.revoked", user, summary=summary)


def create_team(*, actor, name, description=""):
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A team name is required."})
    slug = slugify(name)
    if not slug:
        raise ValidationError({"name": "A team name needs at least one letter or digit."})
    if Team.objects.filter(slug=slug).exists() or Team.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"A team named '{name}' exists already."})
    with transaction.atomic():
        team = Team.objects.create(name=name, slug=slug, description=description)
        audit.record(actor, "team.created", team, summary={"name": name})
    return team


def add_member(team, user, *, actor):
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(team=team, user=user)
        if created:
            audit.record(actor, "team.member_added", team, summary={"user": user.username})
    return membership


def remove_member(team, user, *, actor):
    with transaction.atomic():
        deleted, _ = Membership.objects.filter(team=team, user=user).delete()
        if deleted:
            audit.record(actor, "team.member_removed", team, summary={"user": user.username})


def set_role_policy(role, *, actor, require_mfa):
    if role not in ROLES:
        raise ValidationError({"role": f"Unknown role '{role}'."})
    with transaction.atomic():
        policy, _ = RolePolicy.objects.get_or_create(role=role)
        if policy.require_mfa != require_mfa:
            policy.require_mfa = require_mfa
            policy.save()
            audit.record(actor, "settings.role_policy", policy, summary={"role": role, "require_mfa": require_mfa})
    return policy


def issue_token(user, *, actor, name, expires_days=None, scopes=()):
    """Create an API token. Returns (token, secret); the secret is never stored nor shown again."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A token name is required."})
    unknown = [scope for scope in scopes if scope not in PERMISSIONS]
    if unknown:
        raise ValidationError({"scopes": f"Unknown scope(s): {', '.join(unknown)}."})
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise ValidationError({"expires_days": "Expiry must be between 1 and 3650 days."})
    prefix, secret = tokens.new_secret()
    expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=prefix, digest=tokens.digest(secret), scopes=sorted(scopes), expires_at=expires_at
        )
        audit.record(
            actor, "token.created", token,
            summary={"user": user.username, "name": name, "scopes": sorted(scopes), "expires_at": expires_at},
        )
    return token, secret


def revoke_token(token, *, actor):
    with transaction.atomic():
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit.record(actor, "token.revoked", token, summary={"user": token.user.username, "name": token.name})
    return token


def begin_totp_enrolment(user):
    """Start (or restart) enrolment with a fresh unconfirmed device; nothing changes until it is confirmed."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def confirm_totp(user, device, code, *, actor):
    """Confirm enrolment with a first code. Returns the new recovery codes, or None if the code is wrong."""
    if device.user_id != user.pk or device.confirmed or not device.verify_token((code or "").strip()):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save()
        codes = _replace_recovery_codes(user)
        audit.record(actor, "mfa.enrolled", user)
    return codes


def regenerate_recovery_codes(user, *, actor):
    with transaction.atomic():
        codes = _replace_recovery_codes(user)
        audit.record(actor, "mfa.recovery_codes_regenerated", user)
    return codes


def reset_mfa(user, *, actor):
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit.record(actor, "mfa.reset", user)


# purpose -> (audit action on success, on failure)
_SECOND_FACTOR_ACTIONS = {"login": ("mfa.verified", "mfa.failed"), "step_up": ("mfa.step_up", "mfa.step_up_failed")}


def verify_second_factor(user, code, *, purpose):
    """Check a TOTP or recovery code for sign-in or a step-up, auditing the outcome either way.
    Returns the device that accepted the code, or None."""
    from . import mfa

    success, failure = _SECOND_FACTOR_ACTIONS[purpose]
    device = mfa.check_code(user, code)
    if device is None:
        audit.record(audit.Actor.user(user), failure, user)
    else:
        audit.record(audit.Actor.user(user), success, user, summary={"device": type(device).__name__})
    return device


def _replace_recovery_codes(user):
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def _actor_user(actor):
    if actor.type in {"user", "token"} and actor.id:
        if actor.type == "user":
            return User.objects.filter(pk=actor.id).first()
        token = ApiToken.objects.filter(pk=actor.id).select_related("user").first()
        return token.user if token else None
    return None
