"""Refresh the model price table from OpenRouter's GET /models, or from a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from routing.services import RoutingError, SyncResult, sync_from_openrouter, sync_model_prices
from routing.services.prices import read_model_file


class Command(BaseCommand):
    help = "Read OpenRouter's model list (prices, context length, parameters) into ModelPrice."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from-file",
            type=Path,
            help='A saved GET /models body ({"data": [...]}), e.g. the shipped snapshot.',
        )

    def handle(self, *args: Any, from_file: Path | None = None, **options: Any) -> None:
        try:
            result = self._sync(from_file)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{from_file} is not JSON: {exc}") from None
        except (RoutingError, OSError, ValueError) as exc:
            where = f"{from_file}: " if from_file is not None else ""
            raise CommandError(f"{where}{exc}") from None
        if result.skipped and not (result.created or result.updated or result.unchanged):
            raise CommandError(
                f"none of the {result.skipped} models could be read "
                '(each needs a string "id" and a "pricing" object)'
            )
        self.stdout.write(self.style.SUCCESS(f"Model prices: {result}."))

    @staticmethod
    def _sync(from_file: Path | None) -> SyncResult:
        if from_file is not None:
            return sync_model_prices(models=read_model_file(from_file), source="file")
        return sync_from_openrouter()
