"""The tamper-evident audit log: append under a chain lock, verify, and anchor the head."""

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import context
from .models import AuditEntry

GENESIS = "0" * 64
_CHAIN_LOCK_ID = 0x70C5_A0D1  # advisory lock id that serialises appends on PostgreSQL
log = logging.getLogger("tocsin.audit")


@dataclass(frozen=True)
class Actor:
    """Who performed an audited action."""

    type: str  # user, token, system, anonymous
    id: str = ""
    label: str = ""

    @classmethod
    def user(cls, user):
        return cls("user", str(user.pk), user.get_username())

    @classmethod
    def system(cls, label="tocsin"):
        return cls("system", "", label)

    @classmethod
    def anonymous(cls, label=""):
        return cls("anonymous", "", label)

    @classmethod
    def of(cls, principal):
        if principal is None or principal.user is None:
            return cls.anonymous()
        if principal.token is not None:
            token = principal.token
            return cls("token", str(token.pk), f"{principal.user.get_username()}/{token.name}")
        return cls.user(principal.user)

    @classmethod
    def from_request(cls, request):
        principal = getattr(request, "principal", None)
        if principal is not None:
            return cls.of(principal)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return cls.user(user)
        return cls.anonymous()


def audit_key() -> bytes:
    key = settings.TOCSIN_AUDIT_KEY
    if not key:
        key = hashlib.sha256(f"tocsin:audit:{settings.SECRET_KEY}".encode()).hexdigest()
    return key.encode()


def canonical(entry) -> bytes:
    body = {
        "seq": entry.seq,
        "at": entry.at.isoformat(timespec="microseconds"),
        "actor": [entry.actor_type, entry.actor_id, entry.actor_label],
        "action": entry.action,
        "object": [entry.object_type, entry.object_id],
        "summary": entry.summary,
        "ip": entry.ip,
        "request_id": entry.request_id,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(entry) -> str:
    return hmac.new(audit_key(), canonical(entry), hashlib.sha256).hexdigest()


def _lock_chain():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_ID])
    # On SQLite every transaction begins IMMEDIATE, which already serialises writers.


def record(actor, action, obj=None, *, summary=None, object_type="", object_id="", at=None):
    """Append one entry. Runs in (or joins) a transaction that holds the chain lock."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    with transaction.atomic():
        _lock_chain()
        head = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
        entry = AuditEntry(
            seq=seq,
            at=at or timezone.now(),
            actor_type=actor.type,
            actor_id=actor.id,
            actor_label=actor.label[:150],
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            summary=json.loads(json.dumps(summary or {}, default=str)),
            ip=context.client_ip.get(),
            request_id=context.request_id.get(),
            prev_hash=prev_hash,
        )
        entry.hash = entry_hash(entry)
        entry.save(force_insert=True)
    return entry


def changes(before: dict, after: dict, *, sensitive=()):
    """A before/after summary of changed fields; sensitive fields say only that they changed."""
    diff = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        diff[key] = "changed" if key in sensitive else {"from": old, "to": new}
    return diff


# --- verification -----------------------------------------------------------


@dataclass
class Verdict:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str = ""
    bad_seq: int | None = None


def read_anchors(path=None):
    path = Path(path or settings.TOCSIN_AUDIT_ANCHOR_FILE)
    if not path.exists():
        return []
    anchors = []
    for line in path.read_text().splitlines():
        if line.strip():
            anchors.append(json.loads(line))
    return anchors


def verify(anchors=None, batch=2000) -> Verdict:
    """Walk the chain from the start: contiguous sequence numbers, matching links and HMACs,
    and every anchored head still present with its recorded hash."""
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    last = (0, GENESIS)
    query = AuditEntry.objects.order_by("seq")
    position = 0
    while True:
        rows = list(query.filter(seq__gt=position)[:batch])
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return Verdict(False, checked, *last, f"entry #{expected_seq} is missing", expected_seq)
            if entry.prev_hash != expected_prev:
                return Verdict(False, checked, *last, f"entry #{entry.seq} does not link to its predecessor", entry.seq)
            if not hmac.compare_digest(entry.hash, entry_hash(entry)):
                return Verdict(False, checked, *last, f"entry #{entry.seq} was altered (HMAC mismatch)", entry.seq)
            checked += 1
            expected_prev, expected_seq = entry.hash, entry.seq + 1
            last = (entry.seq, entry.hash)
        position = rows[-1].seq
    head_seq, head_hash = last
    for anchor in anchors if anchors is not None else read_anchors():
        seq, digest = int(anchor["seq"]), anchor["hash"]
        if seq > head_seq:
            return Verdict(
                False, checked, head_seq, head_hash,
                f"entries after #{head_seq} were removed: an anchor records entry #{seq}", head_seq + 1,
            )
        stored = AuditEntry.objects.filter(seq=seq).values_list("hash", flat=True).first()
        if stored != digest:
            return Verdict(False, checked, head_seq, head_hash, f"entry #{seq} differs from its anchor", seq)
    return Verdict(True, checked, head_seq, head_hash)


# --- anchoring --------------------------------------------------------------


def head():
    return AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first() or (0, GENESIS)


def anchor(path=None):
    """Write the chain head to the log and to the anchor file kept outside the database."""
    seq, digest = head()
    if seq == 0:
        return None
    record_ = {"seq": seq, "hash": digest, "at": timezone.now().isoformat()}
    log.info("audit chain anchor", extra={"audit_seq": seq, "audit_hash": digest})
    target = path or settings.TOCSIN_AUDIT_ANCHOR_FILE
    if target:
        anchors = read_anchors(target)
        if not anchors or anchors[-1]["seq"] != seq:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record_) + "\n")
    return record_
