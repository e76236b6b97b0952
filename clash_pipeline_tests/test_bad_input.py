"""A malformed payload fails its batch with an error naming source, endpoint and field, and writes nothing."""

from __future__ import annotations

import json

import pytest

from clash_pipeline.ingest import hyperliquid as ingest
from clash_pipeline.ingest.isolation import IncompleteIngest
from clash_pipeline.sources.errors import PayloadError
from clash_pipeline_tests.helpers import raw

HL = "hyperliquid"


def _candles(fixtures_dir) -> list[dict]:
    return json.loads((fixtures_dir / HL / "candleSnapshot_kPEPE_1h.json").read_bytes())


@pytest.mark.parametrize(
    ("break_it", "field"),
    [
        (lambda rows: rows[3].pop("c"), "3.c"),
        (lambda rows: rows[5].update(t="1684699200000"), "5.t"),
        (lambda rows: rows[2].update(h="NaN"), "2.h"),
        (lambda rows: rows[1].update(v={"x": 1}), "1.v"),
    ],
    ids=["missing", "wrong-type", "nan", "object"],
)
def test_broken_candle_fails_the_batch_and_writes_nothing(fixtures_dir, memory, break_it, field):
    good = raw("candleSnapshot", json.dumps(_candles(fixtures_dir)))
    ingest.write_candles(memory, [good], 0, 2**62)
    before = memory.execute("SELECT * FROM hl_candles ORDER BY open_ms").fetchall()

    rows = _candles(fixtures_dir)
    for row in rows:
        row["c"] = str(float(row["c"]) * 2) if "c" in row else row.get("c")  # a batch that would change data
    break_it(rows)
    with pytest.raises(PayloadError) as error:
        ingest.write_candles(memory, [good, raw("candleSnapshot", json.dumps(rows))], 0, 2**62)
    assert error.value.source == "hyperliquid" and error.value.endpoint == "candleSnapshot"
    assert error.value.field == field and field in str(error.value)
    assert memory.execute("SELECT * FROM hl_candles ORDER BY open_ms").fetchall() == before


def test_truncated_body(fixtures_dir, memory):
    body = (fixtures_dir / HL / "fundingHistory_BTC_no_endTime.json").read_bytes()
    with pytest.raises(PayloadError, match=r"hyperliquid fundingHistory: bad payload at field '<body>'.*JSON"):
        ingest.write_funding_history(memory, [raw("fundingHistory", body[: len(body) // 2])], 0, 2**62)
    assert memory.execute("SELECT COUNT(*) FROM hl_funding_history").fetchone()[0] == 0


def test_meta_and_ctxs_of_different_lengths_is_refused(fixtures_dir):
    meta = json.loads((fixtures_dir / HL / "meta.json").read_bytes())
    frame = json.loads((fixtures_dir / HL / "ws_allDexsAssetCtxs.json").read_bytes())
    ctxs = frame["data"]["ctxs"][0][1]
    with pytest.raises(PayloadError, match="metaAndAssetCtxs.*28 perps but 230 ctxs"):
        ingest.write_contexts(None, [raw("metaAndAssetCtxs", json.dumps([meta, ctxs]))])


def test_broken_book_in_a_snapshot_is_reported_and_the_valid_one_written(fixtures_dir, memory):
    book = json.loads((fixtures_dir / HL / "l2Book_DYDX.json").read_bytes())
    broken = json.loads(json.dumps(book))
    broken["levels"][1][4]["px"] = "not-a-price"
    with pytest.raises(IncompleteIngest, match=r"l2Book.*levels\.1\.4\.px") as error:
        ingest.write_books(memory, [raw("l2Book", json.dumps(book)), raw("l2Book", json.dumps(broken))])
    assert isinstance(error.value.failures[0].error, PayloadError)
    assert memory.execute("SELECT COUNT(*) FROM hl_book_levels").fetchone()[0] == 40
    with pytest.raises(PayloadError, match=r"l2Book.*levels\.1\.4\.px"):  # nothing valid: the error as it is
        ingest.write_books(memory, [raw("l2Book", json.dumps(broken))])
