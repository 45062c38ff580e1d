"""The web app around :mod:`server`: request dependencies, routers, pages and static files."""
