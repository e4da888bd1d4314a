"""The site's error answers (Django's handler400/403/404/500): JSON under /api/ and /v1/,
whose clients read JSON whatever went wrong, the usual pages elsewhere; and a body over
DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 wherever Django meets it, not a 400."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from config.middleware import API_PREFIXES


def _json(detail: str, status: int, code: str) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        if _is_api(request):
            return _json("The request body is too large.", 413, "request_too_large")
        return HttpResponse("The request body is too large.", status=413, content_type="text/plain")
    if _is_api(request):
        return _json("Bad request.", 400, "bad_request")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json("You do not have permission to perform this action.", 403, "forbidden")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json("Not found.", 404, "not_found")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return _json("The server failed on this request; it is logged.", 500, "server_error")
    return defaults.server_error(request)
