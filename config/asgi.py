"""The ASGI application: HTTP through Django, websockets through Channels."""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_http = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs Django set up first
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from config.body_limit import BodySizeLimit  # noqa: E402
from config.origin import SameOriginValidator  # noqa: E402
from config.transport import TransportSecurity  # noqa: E402
from config.websockets import websocket_urlpatterns  # noqa: E402
from routing.gateway.asgi import GatewayFastPath  # noqa: E402

http_app: Any = ASGIStaticFilesHandler(django_http) if settings.SERVE_STATIC else django_http
# The OpenAI-compatible gateway skips the dashboard's middleware and per-request threads:
# see routing/gateway/asgi.py for why and bench/gateway.py for what it saves.
http_app = GatewayFastPath(http_app)
# No body over REQUEST_MAX_BODY_BYTES reaches anything (config/daphne.py refuses it
# earlier, inside Daphne).
http_app = BodySizeLimit(http_app)
# HTTPS redirect, HSTS and the Content-Security-Policy for every path, the gateway's included.
http_app = TransportSecurity(http_app)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(
            SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
