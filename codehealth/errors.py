"""Code health's domain errors. They extend the engine's, so the API's exception handler
answers each with its status code."""

from __future__ import annotations

from engine.services.errors import EngineError


class CodehealthError(EngineError):
    code = "codehealth_error"


class RepositoryNotFound(CodehealthError):
    status_code = 404
    code = "repository_not_found"


class RepositoryUnavailable(CodehealthError):
    """The repository cannot be read now: its path is gone, git failed, no client for it."""

    status_code = 409
    code = "repository_unavailable"


class NotInRepository(CodehealthError):
    """A path or commit that the repository does not have."""

    status_code = 404
    code = "not_in_repository"


class ScanNotFound(CodehealthError):
    status_code = 404
    code = "scan_not_found"


class FindingNotFound(CodehealthError):
    status_code = 404
    code = "finding_not_found"


class InvalidFindingChange(CodehealthError):
    status_code = 409
    code = "invalid_finding_change"


class PatchRefused(CodehealthError):
    """A change that will not be proposed: it does not apply, tests fail, a fix is unsafe,
    too many are open, the same one is already open."""

    status_code = 409
    code = "patch_refused"


class AutoPRNotFound(CodehealthError):
    status_code = 404
    code = "autopr_not_found"


class MergeRefused(CodehealthError):
    """The target branch moved since the change was built, or its checkout is dirty."""

    status_code = 409
    code = "merge_refused"
