-- What is due skips the runs a context already holds from the earliest due tick on: found by context and tick,
-- not by a scan of every run (a 30-day backtest holds 28,800; the live context grows without end).
CREATE INDEX decision_runs_context_tick ON decision_runs (context_label, tick_ms);
