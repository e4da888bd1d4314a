"""The project-wide DRF plumbing every app's API stands on: error answers, the parser, the
pagination base, shared fields, throttles and the schema's extensions. Named from
`REST_FRAMEWORK` in config/settings.py where DRF allows it; apps import the rest from here."""
