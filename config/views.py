"""The site's error answers (Django's handler400/403/404/500): JSON under /api/ and /v1/,
whose clients read JSON whatever went wrong; elsewhere a page in the site's layout with a
sentence and a way back (the 500 stays Django's plain page: it must render whatever broke);
and a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 wherever Django meets it, not a 400."""

from __future__ import annotations

from django.core.exceptions import BadRequest, RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.views import defaults

from config.middleware import API_PREFIXES


def _json(detail: str, status: int, code: str) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


PAGES = {
    400: (
        "This address asks for something the page cannot show",
        "A filter, a page position or a choice that was sent is not one the page knows. "
        "Go back and pick it again.",
    ),
    403: (
        "Not yours to see",
        "Your account may not open this page or do this; an administrator "
        "can grant the permission.",
    ),
    404: ("Nothing here", "There is no such page, or what it named is gone or not yours to see."),
}

# A section's page to go back to: the namespace of the first part of the path.
SECTIONS = {
    "engine": "Engine",
    "chat": "Chat",
    "selfheal": "Self-heal",
    "logcrawler": "Logs",
    "codehealth": "Code health",
    "routing": "Model routing",
}


def _section(request: HttpRequest) -> tuple[str, str]:
    """The page of the section the address was in, e.g. ("/engine/", "Engine")."""
    head = "/" + request.path.lstrip("/").split("/", 1)[0] + "/"
    try:
        namespace = resolve(head).namespace
    except Resolver404:
        return "", ""
    if namespace not in SECTIONS:
        return "", ""
    return head, SECTIONS[namespace]


def _page(request: HttpRequest, status: int, detail: str = "") -> HttpResponse:
    heading, sentence = PAGES[status]
    back, back_label = _section(request)
    context = {
        "status": status,
        "heading": heading,
        "sentence": sentence,
        "detail": detail,
        "back": back,
        "back_label": back_label,
    }
    return render(request, "error.html", context, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        if _is_api(request):
            return _json("The request body is too large.", 413, "request_too_large")
        return HttpResponse("The request body is too large.", status=413, content_type="text/plain")
    if _is_api(request):
        return _json("Bad request.", 400, "bad_request")
    # Our views raise BadRequest with a sentence for the operator; other 400s say nothing more.
    return _page(request, 400, str(exception) if type(exception) is BadRequest else "")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json("You do not have permission to perform this action.", 403, "forbidden")
    return _page(request, 403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json("Not found.", 404, "not_found")
    return _page(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return _json("The server failed on this request; it is logged.", 500, "server_error")
    return defaults.server_error(request)
