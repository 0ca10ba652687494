"""Security headers on every response.

The pages load scripts and styles from the app's own origin only (no inline script),
so a strict Content-Security-Policy costs nothing and stops injected script; the
other headers stop MIME sniffing, framing (click-jacking) and leaking full URLs to
other sites.
"""

from __future__ import annotations

from flask import Flask, Response

#: The policy: everything from this origin, images also as ``data:`` URLs, no framing.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    )
)

HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def init_app(app: Flask) -> None:
    """Add :data:`HEADERS` to every response of *app*.

    A view that sets its own Content-Security-Policy (the reconciliation preview,
    made to be framed by OpenRefine) keeps it and gets no ``X-Frame-Options``: its
    policy's ``frame-ancestors`` decides framing.
    """

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        own_policy = "Content-Security-Policy" in response.headers
        for name, value in HEADERS.items():
            if own_policy and name == "X-Frame-Options":
                continue
            response.headers.setdefault(name, value)
        return response
