"""Every prompt and message template, as Jinja2 files (see ``assistant.answers``)."""
