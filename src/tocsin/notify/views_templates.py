"""The message template pages (administrators): which channel and urgency use a custom template,
and the editor with its preview against the sample incident, save and reset."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tocsin.core.form_errors import apply_errors
from tocsin.core.view_access import actor, permission_required

from . import rendering, services_templates
from .forms_templates import MessageTemplateForm
from .models import CHANNELS, URGENCIES, MessageTemplate

PERMISSION = "settings:manage"  # administrators only


def _slot(channel, urgency):
    channels, urgencies = dict(CHANNELS), dict(URGENCIES)
    if channel not in channels or urgency not in urgencies:
        raise Http404("No such channel or urgency.")
    return channels[channel], urgencies[urgency]


@permission_required(PERMISSION)
def template_list(request):
    custom = {(t.channel, t.urgency): t for t in MessageTemplate.objects.select_related("updated_by")}
    rows = [{"channel": channel, "label": label,
             "cells": [{"urgency": urgency, "template": custom.get((channel, urgency))} for urgency, _ in URGENCIES]}
            for channel, label in CHANNELS]
    return render(request, "notify/template_list.html", {"rows": rows, "urgencies": URGENCIES})


def _edit_page(request, channel, urgency, form, *, current, preview=None, status=200):
    channel_label, urgency_label = _slot(channel, urgency)
    return render(request, "notify/template_edit.html", {
        "channel": channel, "urgency": urgency, "channel_label": channel_label, "urgency_label": urgency_label,
        "form": form, "current": current, "preview": preview, "variables": rendering.VARIABLES,
        "is_sms": channel == "sms"}, status=status)


@require_http_methods(["GET", "POST"])
@permission_required(PERMISSION)
def template_edit(request, channel, urgency):
    _slot(channel, urgency)
    current = MessageTemplate.objects.filter(channel=channel, urgency=urgency).select_related("updated_by").first()
    if request.method == "GET":
        subject, body = ((current.subject, current.body) if current else rendering.built_in_source(channel))
        initial = {"subject": subject, "body": body,
                   "sms_segments": current.sms_segments if current else rendering.DEFAULT_SMS_SEGMENTS}
        return _edit_page(request, channel, urgency, MessageTemplateForm(channel, initial=initial), current=current)

    form = MessageTemplateForm(channel, request.POST)
    if not form.is_valid():
        return _edit_page(request, channel, urgency, form, current=current, status=400)
    values = form.values()
    if request.POST.get("action") == "preview":
        for field, message in rendering.validate(channel, **values).items():
            form.add_error(field if field in form.fields else None, message)
        shown = rendering.preview(channel, values["subject"], values["body"], values["sms_segments"])
        return _edit_page(request, channel, urgency, form, current=current, preview=shown,
                          status=400 if form.errors else 200)
    try:
        services_templates.save_template(channel, urgency, **values, actor=actor(request), user=request.user)
    except ValidationError as exc:
        apply_errors(form, exc)
        return _edit_page(request, channel, urgency, form, current=current, status=400)
    messages.success(request, f"The {dict(CHANNELS)[channel]} template for {urgency} urgency is saved.")
    return redirect("notify:templates")


@require_POST
@permission_required(PERMISSION)
def template_reset(request, channel, urgency):
    channel_label, _ = _slot(channel, urgency)
    if services_templates.reset_template(channel, urgency, actor=actor(request)):
        messages.success(request, f"The {channel_label} template for {urgency} urgency is the built-in one again.")
    else:
        messages.info(request, f"The {channel_label} template for {urgency} urgency was already the built-in one.")
    return redirect("notify:templates")
