"""The pages that mailed links open: confirm an email address, choose a new password, confirm
an email change.

Plain server-rendered HTML with no script, so they work in any browser and mail client. Each
calls the same domain method as its GraphQL mutation (`confirmEmail`, `resetPassword`,
`confirmEmailChange`). The
token in the link is the only secret: the reset form carries it in a hidden field and changes
the password on POST only, so a page elsewhere cannot make a browser reset a password without
already holding the token. Everything echoed is HTML-escaped; responses are neither cached nor
framed, and send no Referer (the address holds the token).
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from gochat.domain.services import Services
from gochat.errors import BadUserInput, Conflict, GoChatError, RateLimited

_HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
}
_INCOMPLETE_LINK = (
    "This link has no token. Open the whole link from the mail, or ask for a new one."
)
_MAX_TOKEN_CHARS = 200


def _page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(title)} - GoChat</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 32em; margin: 3em auto; padding: 0 1em; }}
label {{ display: block; margin-top: 1em; }}
input[type=password] {{ width: 100%; padding: .4em; font: inherit; box-sizing: border-box; }}
button {{ margin-top: 1.5em; padding: .5em 1.2em; font: inherit; }}
.error {{ color: #a00; }}
</style>
</head>
<body>
<h1>{escape(title)}</h1>
{body}
</body>
</html>
"""
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _message(title: str, text: str, *, status: int = 200) -> HTMLResponse:
    css = ' class="error"' if status >= 400 else ""
    return _page(title, f"<p{css}>{escape(text)}</p>", status=status)


def _failure(exc: GoChatError) -> tuple[str, int]:
    """What to tell the reader, and the status; never an internal detail."""
    if isinstance(exc, BadUserInput):
        return str(exc), 400
    if isinstance(exc, Conflict):
        return str(exc), 409
    if isinstance(exc, RateLimited):
        return "Too many attempts. Wait a little and try again.", 429
    return "The server could not do this just now. Try again in a moment.", 503


def _token(value: object) -> str | None:
    if not isinstance(value, str) or not value or len(value) > _MAX_TOKEN_CHARS:
        return None
    return value


async def confirm_email(request: Request) -> Response:
    """GET /confirm-email?token=...: confirms the address and says so."""
    title = "Confirm your email"
    token = _token(request.query_params.get("token"))
    if token is None:
        return _message(title, _INCOMPLETE_LINK, status=400)
    services: Services = request.app.state.services
    try:
        account = await services.accounts.confirm_email(token)
    except GoChatError as exc:
        text, status = _failure(exc)
        return _message(title, f"{text[:1].upper()}{text[1:]}.", status=status)
    return _message(
        "Email confirmed", f"Your email address is confirmed: {account.email}. You can close this."
    )


async def confirm_email_change(request: Request) -> Response:
    """GET /confirm-email-change?token=...: moves the account to the new address."""
    title = "Confirm your new email"
    token = _token(request.query_params.get("token"))
    if token is None:
        return _message(title, _INCOMPLETE_LINK, status=400)
    services: Services = request.app.state.services
    try:
        account = await services.lifecycle.confirm_email_change(token)
    except GoChatError as exc:
        text, status = _failure(exc)
        return _message(title, f"{text[:1].upper()}{text[1:]}.", status=status)
    return _message(
        "Email changed", f"Your account's email is now {account.email}. You can close this."
    )


def _reset_form(token: str, *, error: str | None = None, status: int = 200) -> HTMLResponse:
    notice = f'<p class="error">{escape(error)}</p>' if error else ""
    body = f"""{notice}
<form method="post" action="reset-password">
<input type="hidden" name="token" value="{escape(token)}">
<label>New password <input type="password" name="password" autocomplete="new-password"
 required></label>
<label>The same again <input type="password" name="repeat" autocomplete="new-password"
 required></label>
<button type="submit">Set the new password</button>
</form>
<p>Every device signed in to this account is signed out.</p>"""
    return _page("Choose a new password", body, status=status)


async def reset_password(request: Request) -> Response:
    """GET /reset-password?token=...: the form. POST: sets the new password."""
    title = "Choose a new password"
    if request.method == "GET":
        token = _token(request.query_params.get("token"))
        if token is None:
            return _message(title, _INCOMPLETE_LINK, status=400)
        return _reset_form(token)

    async with request.form() as form:
        token = _token(form.get("token"))
        password, repeat = form.get("password"), form.get("repeat")
    if token is None:
        return _message(title, _INCOMPLETE_LINK, status=400)
    if not isinstance(password, str) or not isinstance(repeat, str):
        return _reset_form(token, error="Type the new password twice.", status=400)
    if password != repeat:
        return _reset_form(token, error="The two passwords do not match.", status=400)
    services: Services = request.app.state.services
    try:
        await services.accounts.reset_password(token=token, new_password=password)
    except BadUserInput as exc:
        if exc.field == "token":
            return _message(title, f"{exc}. Ask for a new link.", status=400)
        return _reset_form(token, error=str(exc), status=400)
    except GoChatError as exc:
        text, status = _failure(exc)
        return _reset_form(token, error=text, status=status)
    return _message(
        "Password changed", "Your password is changed. Sign in with it on every device again."
    )


def routes() -> list[Route]:
    return [
        Route("/confirm-email", confirm_email, methods=["GET"]),
        Route("/reset-password", reset_password, methods=["GET", "POST"]),
        Route("/confirm-email-change", confirm_email_change, methods=["GET"]),
    ]
