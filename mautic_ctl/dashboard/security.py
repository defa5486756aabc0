"""Who may look and who may act: token checks, CSRF tokens, and the loopback rule — pure functions."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets

CSRF_COOKIE = "mautic_ctl_csrf"
TOKEN_COOKIE = "mautic_ctl_session"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_problem(host: str, *, token: str | None, trusted_user_header: str | None) -> str | None:
    """Why serving on ``host`` would be unsafe (None when it is fine): the dashboard can change Mautic."""
    if is_loopback(host) or token or trusted_user_header:
        return None
    return (
        f"refusing to serve the dashboard on {host} without a token: set [dashboard] token "
        "(or MAUTIC_CTL_DASHBOARD_TOKEN), put it behind an authenticating proxy ([dashboard] "
        "trusted_user_header), or bind to 127.0.0.1."
    )


def session_value(token: str) -> str:
    """What the login cookie holds: a hash of the token, never the token itself."""
    return hashlib.sha256(f"mautic-ctl-dashboard:{token}".encode()).hexdigest()


def token_ok(token: str, *, bearer: str | None, cookie: str | None) -> bool:
    if bearer is not None and hmac.compare_digest(bearer.encode(), token.encode()):
        return True
    return cookie is not None and hmac.compare_digest(cookie.encode(), session_value(token).encode())


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(cookie: str | None, submitted: str | None) -> bool:
    """Double-submit check: the form's hidden token equals the (SameSite=Strict) cookie's."""
    return bool(cookie) and bool(submitted) and hmac.compare_digest(str(cookie).encode(), str(submitted).encode())
