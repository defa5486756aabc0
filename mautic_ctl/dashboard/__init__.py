"""The marketing team's web dashboard: server-rendered pages (Starlette + Jinja2) over the same services
the CLI uses. Off unless started; loopback by default; every change is a POST with a CSRF token."""
