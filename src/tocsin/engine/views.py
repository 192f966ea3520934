"""The engine page for administrators: queue health, jobs by kind, and dead letters to retry."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tocsin.core import audit
from tocsin.core.schemas import MAX_ID
from tocsin.core.view_access import permission_required

from . import health, queue
from .models import Job


@permission_required("settings:manage")
def engine_page(request):
    dead = Job.objects.filter(state=Job.DEAD).order_by("-finished_at", "-pk")
    pending = (Job.objects.filter(state=Job.PENDING).values("kind").annotate(n=Count("pk")).order_by("kind"))
    return render(request, "engine/engine.html", {
        "state": health.queue_state(),
        "pending_by_kind": list(pending),
        "dead": Paginator(dead, 50).get_page(request.GET.get("page")),
    })


@require_POST
@permission_required("settings:manage")
def retry(request):
    ids = [int(v) for v in request.POST.getlist("job") if v.isdigit() and 0 < int(v) <= MAX_ID]
    if not ids:
        messages.error(request, "Choose the dead letters to retry.")
        return redirect("engine")
    count = queue.retry_dead(ids, actor=audit.Actor.user(request.user))
    messages.success(request, f"{count} job(s) queued again.")
    return redirect("engine")
