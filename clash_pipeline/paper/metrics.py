"""Account metrics from its equity curve, fills, ledger and decision runs, and the ledger reconciliation."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import asdict, dataclass


YEAR_MS = 365 * 24 * 3_600_000


@dataclass(frozen=True)
class Metrics:
    account_id: int
    points: int
    start_equity: float
    end_equity: float
    return_pct: float
    max_drawdown_pct: float
    sharpe: float | None
    calmar: float | None
    win_rate: float | None
    trades: int
    fees_usd: float
    funding_usd: float
    turnover: float
    reliability: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def account_metrics(conn: sqlite3.Connection, account_id: int) -> Metrics:
    curve = conn.execute("SELECT ts_ms, equity_micro FROM equity_curve WHERE account_id = ? ORDER BY ts_ms",
                         (account_id,)).fetchall()
    clone_id, context, starting = conn.execute(
        "SELECT clone_id, context_label, starting_micro FROM paper_accounts WHERE account_id = ?",
        (account_id,)).fetchone()
    equities = [starting / 1e6] + [e / 1e6 for _, e in curve]
    start, end = equities[0], equities[-1]
    peak, max_drawdown = start, 0.0
    for value in equities:
        peak = max(peak, value)
        max_drawdown = max(max_drawdown, (peak - value) / peak * 100 if peak else 0.0)
    returns = [b / a - 1 for a, b in zip(equities, equities[1:]) if a]
    sharpe = calmar = None
    if len(curve) >= 3:
        step = (curve[-1][0] - curve[0][0]) / (len(curve) - 1)
        mean = sum(returns) / len(returns)
        std = math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)) if len(returns) > 1 else 0.0
        sharpe = mean / std * math.sqrt(YEAR_MS / step) if std and step else None
        years = (curve[-1][0] - curve[0][0]) / YEAR_MS
        annual = (end / start) ** (1 / years) - 1 if years > 0 and start > 0 and end > 0 else None
        calmar = annual / (max_drawdown / 100) if annual is not None and max_drawdown else None
    realized = [a for (a,) in conn.execute("SELECT amount_micro FROM ledger_events WHERE account_id = ? AND "
                                           "kind = 'realized_pnl'", (account_id,))]
    trades, notional = conn.execute("SELECT COUNT(*), COALESCE(SUM(CAST(size AS REAL) * CAST(price AS REAL)), 0) "
                                    "FROM paper_fills WHERE account_id = ?", (account_id,)).fetchone()
    fees, funding = conn.execute(
        "SELECT COALESCE(-SUM(CASE WHEN kind = 'fee' THEN amount_micro END), 0), "
        "COALESCE(SUM(CASE WHEN kind = 'funding' THEN amount_micro END), 0) FROM ledger_events WHERE account_id = ?",
        (account_id,)).fetchone()
    runs, bad = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(status = 'failed' OR reply_status IN ('malformed', 'refused', 'empty', "
        "'error')), 0) FROM decision_runs WHERE clone_id = ? AND context_label = ? AND status != 'running'",
        (clone_id, context)).fetchone()
    return Metrics(
        account_id, len(curve), round(start, 6), round(end, 6), round((end / start - 1) * 100, 6) if start else 0.0,
        round(max_drawdown, 6), None if sharpe is None else round(sharpe, 6),
        None if calmar is None else round(calmar, 6),
        round(sum(r > 0 for r in realized) / len(realized), 6) if realized else None, trades,
        round(fees / 1e6, 6), round(-funding / 1e6, 6), round(notional / start, 6) if start else 0.0,
        round(1 - bad / runs, 6) if runs else None,
    )


def reconcile(conn: sqlite3.Connection, account_id: int) -> dict:
    """The account's balance against its ledger, and cash + margin + unrealized against equity, to the micro-USDC."""
    balance, = conn.execute("SELECT balance_micro FROM paper_accounts WHERE account_id = ?", (account_id,)).fetchone()
    ledger, = conn.execute("SELECT COALESCE(SUM(amount_micro), 0) FROM ledger_events WHERE account_id = ?",
                           (account_id,)).fetchone()
    point = conn.execute("SELECT equity_micro, balance_micro, margin_micro, unrealized_micro FROM equity_curve "
                         "WHERE account_id = ? ORDER BY ts_ms DESC LIMIT 1", (account_id,)).fetchone()
    result = {"balance_micro": balance, "ledger_micro": ledger, "balanced": balance == ledger}
    if point:
        equity, point_balance, margin, unrealized = point
        cash = point_balance - margin
        result.update(equity_micro=equity, cash_micro=cash, margin_micro=margin, unrealized_micro=unrealized,
                      equity_reconciles=cash + margin + unrealized == equity)
    return result
