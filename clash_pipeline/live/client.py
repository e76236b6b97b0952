"""The exchange's two doors: POST /exchange (signed actions) and POST /info (account reads).

A timeout is its own error (ExchangeTimeout): after a send it means "unknown", never "not sent". An answer the
exchange refuses comes back as data (status "err"), not as an exception: the caller records its text.
"""

from __future__ import annotations

import httpx


class ExchangeError(RuntimeError):
    """The exchange could not be reached or answered something that is not JSON."""


class ExchangeTimeout(ExchangeError):
    """No answer in time: a sent action may or may not have been applied."""


class ExchangeClient:
    def __init__(self, base_url: str, timeout_s: float = 10.0, http: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.Client(timeout=timeout_s)

    def _post(self, path: str, body: dict) -> object:
        try:
            response = self._http.post(f"{self.base_url}{path}", json=body)
        except httpx.TimeoutException:
            raise ExchangeTimeout(f"POST {self.base_url}{path} ({body.get('type') or body['action']['type']}): "
                                  "no answer in time") from None
        except httpx.HTTPError as error:
            raise ExchangeError(f"POST {self.base_url}{path}: {type(error).__name__}") from None
        try:
            return response.json()
        except ValueError:
            raise ExchangeError(f"POST {self.base_url}{path}: HTTP {response.status_code}, not JSON: "
                                f"{response.text[:200]!r}") from None

    def exchange(self, body: dict) -> dict:
        answer = self._post("/exchange", body)
        if not isinstance(answer, dict) or "status" not in answer:
            raise ExchangeError(f"POST {self.base_url}/exchange: unexpected answer {str(answer)[:200]!r}")
        return answer

    def info(self, body: dict) -> object:
        return self._post("/info", body)

    def clearinghouse_state(self, user: str) -> dict:
        return self.info({"type": "clearinghouseState", "user": user})

    def order_status(self, user: str, cloid: str) -> dict:
        return self.info({"type": "orderStatus", "user": user, "oid": cloid})

    def user_fills_by_time(self, user: str, start_ms: int, end_ms: int | None = None) -> list[dict]:
        return self.info({"type": "userFillsByTime", "user": user, "startTime": start_ms, "endTime": end_ms,
                          "aggregateByTime": False})

    def user_funding(self, user: str, start_ms: int, end_ms: int | None = None) -> list[dict]:
        return self.info({"type": "userFunding", "user": user, "startTime": start_ms, "endTime": end_ms})

    def all_mids(self) -> dict[str, str]:
        return self.info({"type": "allMids"})
