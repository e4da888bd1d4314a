"""What every provider is: a name, a label for people, and `send`.

`send` is a generator: it yields `Delta`s while a streamed answer arrives (nothing when not
streaming) and returns the `ProviderResult`. Failures are `routing.errors.ProviderError`s.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator
from typing import ClassVar

from routing.types import Delta, ProviderRequest, ProviderResult

ProviderStream = Generator[Delta, None, ProviderResult]


class Provider(ABC):
    name: ClassVar[str]
    label: ClassVar[str]
    # False: the provider answers as itself whatever model is asked (the offline one), so
    # model selection and price caps do not apply to it.
    serves_models: ClassVar[bool] = True
    # True: models missing from the price table cannot be priced, so they are not chosen.
    needs_prices: ClassVar[bool] = False
    # True: the provider honours `models` and `provider.max_price` itself (OpenRouter).
    routes_server_side: ClassVar[bool] = False

    @abstractmethod
    def send(self, request: ProviderRequest) -> ProviderStream:
        """Call the model; yield deltas if `request.stream`; return the result."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
