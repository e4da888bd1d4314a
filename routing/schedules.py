"""Schedules of this app, as plain data; the project installs them with one command."""

SCHEDULES = [
    {"name": "routing.sync_models", "func": "routing.jobs.sync_models_job", "minutes": 1440},
    {
        "name": "routing.drain_ledger_outbox",
        "func": "routing.jobs.drain_ledger_outbox_job",
        "minutes": 1,
    },
    {
        "name": "routing.purge_lapsed_reservations",
        "func": "routing.jobs.purge_lapsed_reservations_job",
        "minutes": 60,
    },
]
