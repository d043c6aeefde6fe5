"""Hand-written DuckDB SQL computing the same per-account features: the speed reference.

Every feature of ``features.yaml`` is computed, as :func:`playbook.features.derive_features`
defines it (``tests/test_bench_reference.py`` compares the two on a demo portfolio), the way
a DuckDB user would write it: one pass with ``FILTER`` aggregates per table, note phrases
matched with ``contains`` on the note lower-cased once, over the interactions that have a note."""

from __future__ import annotations

import pandas as pd

from playbook import features
from playbook.content import Playbook

# the names and codes are read from playbook.features (what each count counts); the SQL is written here
_NAMES = {code: name for name, code in features._COUNTED.items()}  # outcome code -> its count feature
_COUNTED = list(_NAMES)
_UNANSWERED = list(features._UNANSWERED)
_TONES = features._TONE_COUNTS  # tone count feature -> the tone it counts
_SHARES = features._SHARES  # which count each share divides by the right-party contacts


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def features_sql(pb: Playbook, cut_s: int, start_s: int, month_hi: str, month_lo: str) -> str:
    rpc = ", ".join(f"'{d}'" for d in pb.disposition_ids("rpc"))
    contact = ", ".join(f"'{d}'" for d in pb.disposition_ids("contact"))
    counted = ",\n        ".join(f"count(*) FILTER (WHERE outcome = '{c}') AS {_NAMES[c]}" for c in _COUNTED)
    unanswered = ", ".join(f"'{u}'" for u in _UNANSWERED)
    tones = ",\n        ".join(f"count(*) FILTER (WHERE tone = '{t}') AS {name}" for name, t in _TONES.items())
    notes = ",\n        ".join(
        f"count(*) FILTER (WHERE {' OR '.join(f'contains(notes, {_quote(p.lower())})' for p in nc.zh + nc.en)})"
        f" AS {nc.feature}" for nc in pb.note_cues)
    names = [_NAMES[c] for c in _COUNTED] + list(_TONES) + [nc.feature for nc in pb.note_cues]
    rate = pb.settings.rate_of(pb.currency)  # the demo's amounts are in the playbook's currency
    shares = ", ".join(f"coalesce({num}, 0) / nullif(rpc_count, 0) AS {col}" for col, num in _SHARES.items())
    return f"""
WITH it AS (
    SELECT account_id, epoch(ts) AS t, outcome,
           channel IN ('call', 'visit', 'ivr') AND direction = 'outbound' AS voice,
           outcome IN ({rpc}) AS is_rpc, outcome IN ({contact}) AS is_contact, ptp_amount, ptp_date, tone,
           lower(notes) AS notes
    FROM interactions WHERE epoch(ts) < {cut_s}
), w AS (SELECT * FROM it WHERE t >= {start_s}),
agg AS (
    SELECT account_id,
        count(*) FILTER (WHERE voice) AS attempts,
        count(*) FILTER (WHERE is_rpc) AS rpc_count,
        count(*) FILTER (WHERE is_contact) AS contact_count,
        count(*) FILTER (WHERE is_rpc AND voice) AS rpc_voice,
        count(*) FILTER (WHERE is_contact AND voice) AS contact_voice,
        count(*) FILTER (WHERE voice AND outcome IN ({unanswered})) AS unanswered_count,
        {counted},
        {tones}
    FROM w GROUP BY account_id
), noted AS (
    SELECT account_id,
        {notes}
    FROM w WHERE notes IS NOT NULL GROUP BY account_id
), last_rpc AS (SELECT account_id, max(t) AS last_rpc FROM it WHERE is_rpc GROUP BY account_id),
pay AS (SELECT account_id, epoch(paid_at) AS t, amount FROM payments WHERE epoch(paid_at) < {cut_s}),
payagg AS (
    SELECT account_id, sum(amount) FILTER (WHERE t >= {start_s}) AS amount_paid,
           count(*) FILTER (WHERE t >= {start_s}) AS payment_count, max(t) AS last_pay
    FROM pay GROUP BY account_id
), prom AS (
    SELECT row_number() OVER () AS pid, account_id, t,
           coalesce(ptp_amount, 0) AS amount,
           epoch(coalesce(ptp_date, CAST(to_timestamp(t) + INTERVAL 8 HOUR AS DATE)) + INTERVAL 1 DAY) - 8 * 3600 AS due_end,
           date_diff('day', CAST(to_timestamp(t) + INTERVAL 8 HOUR AS DATE), CAST(ptp_date AS DATE)) AS lead
    FROM it WHERE outcome = 'ptp'
), prom_paid AS (
    SELECT p.pid, any_value(p.account_id) AS account_id, any_value(p.t) AS t, any_value(p.amount) AS amount,
           any_value(p.due_end) AS due_end, any_value(p.lead) AS lead, coalesce(sum(y.amount), 0) AS paid
    FROM prom p LEFT JOIN pay y ON y.account_id = p.account_id AND y.t >= p.t AND y.t < p.due_end
    GROUP BY p.pid
), promagg AS (
    SELECT account_id, count(*) AS promises_made,
           count(*) FILTER (WHERE paid >= amount - 0.005) AS promises_kept,
           count(*) FILTER (WHERE paid < amount - 0.005 AND due_end <= {cut_s}) AS promises_broken,
           count(*) FILTER (WHERE paid < amount - 0.005 AND due_end > {cut_s}) AS promises_pending,
           avg(lead) AS ptp_lead_days
    FROM prom_paid WHERE t >= {start_s} GROUP BY account_id
), hist AS (
    SELECT account_id, count(*) FILTER (WHERE bucket <> 'current') AS months_delinquent_12m,
           max(CASE bucket WHEN 'current' THEN 0 WHEN 'M1' THEN 1 WHEN 'M2' THEN 2 ELSE 3 END) AS worst_bucket_12m
    FROM history WHERE month > TIMESTAMP '{month_lo}' AND month <= TIMESTAMP '{month_hi}' GROUP BY account_id
)
SELECT a.account_id, a.dpd, a.balance, a.overdue_amount, a.overdue_amount * {rate} AS overdue_amount_ref,
       a.balance * {rate} AS balance_ref, a.monthly_income, a.monthly_income * {rate} AS monthly_income_ref, a.age, a.external_debts,
       a.occupation, coalesce(a.vulnerable, '') AS vulnerable_reason,
       a.status, coalesce(attempts, 0) AS attempts, coalesce(rpc_count, 0) AS rpc_count,
       rpc_voice / nullif(attempts, 0) AS rpc_rate, coalesce(contact_count, 0) AS contact_count,
       contact_voice / nullif(attempts, 0) AS contact_rate,
       coalesce(unanswered_count, 0) AS unanswered_count, unanswered_count / nullif(attempts, 0) AS unanswered_share,
       {", ".join(f"coalesce({c}, 0) AS {c}" for c in names)},
       {shares},
       coalesce(promises_made, 0) AS promises_made, coalesce(promises_kept, 0) AS promises_kept,
       coalesce(promises_broken, 0) AS promises_broken, coalesce(promises_pending, 0) AS promises_pending,
       promises_kept / nullif(promises_kept + promises_broken, 0) AS ptp_kept_rate, ptp_lead_days,
       coalesce(amount_paid, 0) AS amount_paid, coalesce(payment_count, 0) AS payment_count,
       floor(({cut_s} - last_pay) / 86400) AS days_since_last_payment,
       floor(({cut_s} - last_rpc) / 86400) AS days_since_last_rpc,
       coalesce(amount_paid, 0) / nullif(a.overdue_amount, 0) AS payment_to_overdue,
       (a.balance + coalesce(a.external_debts, 0)) / nullif(a.monthly_income, 0) AS debt_to_income,
       coalesce(months_delinquent_12m, 0) AS months_delinquent_12m, worst_bucket_12m
FROM accounts a
LEFT JOIN agg USING (account_id) LEFT JOIN noted USING (account_id) LEFT JOIN last_rpc USING (account_id) LEFT JOIN payagg USING (account_id)
LEFT JOIN promagg USING (account_id) LEFT JOIN hist USING (account_id)
"""


def duckdb_features(accounts: pd.DataFrame, interactions: pd.DataFrame, payments: pd.DataFrame,
                    history: pd.DataFrame, pb: Playbook, as_of: str, window_days: int = 90) -> pd.DataFrame:
    import duckdb

    day = pd.Timestamp(as_of)
    cut = (day + pd.Timedelta(days=1)).tz_localize("Asia/Shanghai").tz_convert("UTC")
    cut_s = int(cut.timestamp())
    start_s = cut_s - window_days * 86400
    month_hi = day.to_period("M").to_timestamp()
    month_lo = month_hi - pd.DateOffset(months=12)
    con = duckdb.connect()
    for name, frame in (("accounts", accounts), ("interactions", interactions), ("payments", payments),
                        ("history", history)):
        con.register(name, frame)
    out = con.execute(features_sql(pb, cut_s, start_s, str(month_hi), str(month_lo))).df()
    con.close()
    return out
