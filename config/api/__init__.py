"""The project-wide DRF plumbing every app's API stands on: error answers, the parser, the
pagination base, shared fields, throttles and the schema's extensions. Named from
`REST_FRAMEWORK` in config/settings.py where DRF allows it; apps import the rest from here."""

from config.api import strict

# Importing any part of the plumbing (settings name several; config.urls imports the schema
# extensions) makes the fields strict before a request is parsed.
strict.install()
