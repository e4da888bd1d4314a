"""The log crawler's fingerprints as a source of error patterns for self-heal's diagnosis
and repair: what the logs say is going wrong, beside what failed tasks say."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Max, Sum

from logcrawler.models import ErrorFingerprint, ErrorOccurrence, FingerprintState
from logcrawler.services.notify import subject_task_key
from selfheal.error_patterns import EXAMPLES_KEPT, ErrorPattern


class FingerprintErrorSource:
    """Error-level fingerprints by their occurrences since a moment; muted ones left out."""

    name = "logs"

    def top_patterns(self, *, since: datetime, limit: int) -> list[ErrorPattern]:
        rows = (
            ErrorOccurrence.objects.filter(minute__gte=since)
            .filter(fingerprint__in=ErrorFingerprint.objects.errors())
            .exclude(fingerprint__state=FingerprintState.MUTED)
            .order_by()
            .values_list("fingerprint_id")
            .annotate(n=Sum("count"), last=Max("minute"))
            .order_by("-n", "fingerprint_id")[:limit]
        )
        counts = {fp: (n, last) for fp, n, last in rows}
        fingerprints = ErrorFingerprint.objects.in_bulk(list(counts))
        patterns = []
        for fingerprint_id, (n, last) in counts.items():
            fingerprint = fingerprints[fingerprint_id]
            examples = [fingerprint.sample_message] if fingerprint.sample_message else []
            patterns.append(
                ErrorPattern(
                    key=f"{self.name}:{fingerprint_id}",
                    source=self.name,
                    text=f"[{fingerprint.service or 'unknown'}] {fingerprint.template}"[:300],
                    count=n,
                    last_seen=last,
                    examples=examples[:EXAMPLES_KEPT],
                    task_key=subject_task_key(fingerprint_id),
                )
            )
        return patterns


FINGERPRINT_ERRORS = FingerprintErrorSource()
