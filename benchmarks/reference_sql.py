"""Hand-written DuckDB SQL for the three core funnel queries: the reference leadledger's Ibis
expressions are timed against (same run, same connection, same answers — checked).

Written from the definitions in docs/formulas.md, not generated from the Ibis expressions. The
session time zone is the project's, so ``ts::TIMESTAMP`` / ``ts::DATE`` are local wall time.
"""

from __future__ import annotations

STAGES = ("lead", "mql", "sal", "sql", "opportunity", "customer")


def _leads() -> str:
    # field-wise latest non-null value per lead (CRM partial updates), the ledger's semantics
    return """
    leads_now AS (
      SELECT lead_id,
             arg_max(created_at, batch_no * 10000000000 + row_no)
               FILTER (WHERE created_at IS NOT NULL) AS created_at,
             arg_max(channel, batch_no * 10000000000 + row_no)
               FILTER (WHERE channel IS NOT NULL) AS channel
      FROM leads GROUP BY lead_id
    )"""


def _firsts(as_of: str | None = None) -> str:
    """First entry per stage and lead; with ``as_of``, only the events known by then."""
    cols = ",\n".join(
        f"      min(entered_at) FILTER (WHERE stage = '{s}') AS {s}_at" for s in STAGES
    )
    known = f"WHERE entered_at <= TIMESTAMPTZ '{as_of}'" if as_of else ""
    # deals drive the funnel (docs/crm-data.md): a deal's creation enters opportunity and its win
    # customer, for every linked contact that is a lead. The deals' latest version; its links
    # from lead_id, contact_ids (split on ; and ,) and deal_contacts. The generator's deals all
    # carry a status (a stage-only deal would need the deal_stages map: the answers check says so).
    return f"""
    deals_now AS (
      SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY deal_id ORDER BY batch_no DESC, row_no DESC)
                  AS v
        FROM deals
      ) WHERE v = 1 AND status IS NOT NULL
    ),
    links AS (
      SELECT deal_id, trim(lead_id) AS lead_id FROM deals_now
      WHERE lead_id IS NOT NULL AND trim(lead_id) <> ''
      UNION
      SELECT deal_id, trim(x) FROM (
        SELECT deal_id, unnest(string_split(replace(contact_ids, ',', ';'), ';')) AS x
        FROM deals_now WHERE contact_ids IS NOT NULL
      ) WHERE trim(x) <> ''
      UNION
      SELECT deal_id, trim(lead_id) FROM deal_contacts
    ),
    deal_leads AS (
      SELECT d.created_at, d.closed_at, d.status, l.lead_id
      FROM deals_now d JOIN links l ON d.deal_id = l.deal_id
      WHERE l.lead_id IN (SELECT lead_id FROM leads_now)
    ),
    entries AS (
      SELECT * FROM (
        SELECT lead_id, stage, entered_at FROM stage_events
        UNION ALL
        SELECT lead_id, 'lead', created_at FROM leads_now
        UNION ALL
        SELECT lead_id, 'opportunity', created_at FROM deal_leads
        UNION ALL
        SELECT lead_id, 'customer', closed_at FROM deal_leads
        WHERE status = 'won' AND closed_at IS NOT NULL
      ) {known}
    ),
    firsts AS (
      SELECT lead_id,
{cols}
      FROM entries GROUP BY lead_id
    )"""


def _reached() -> str:
    parts = []
    for i, s in enumerate(STAGES):
        later = [f"{t}_at" for t in STAGES[i + 1 :]]
        if later:
            parts.append(f"coalesce({s}_at, least({', '.join(later)})) AS {s}_r")
        else:
            parts.append(f"{s}_at AS {s}_r")
    return "reached AS (SELECT lead_id, " + ", ".join(parts) + " FROM firsts)"


def monthly_stage_counts(start: str, end: str) -> str:
    """Leads entering each stage per local month (skipped stages count as reached)."""
    long = "\n      UNION ALL ".join(
        f"SELECT lead_id, '{s}' AS stage, {s}_r AS \"at\" FROM reached" for s in STAGES
    )
    return f"""
    WITH {_leads()}, {_firsts()}, {_reached()},
    long AS (
      {long}
    )
    SELECT date_trunc('month', "at"::TIMESTAMP)::DATE AS period, stage,
           count(DISTINCT lead_id) AS entered
    FROM long
    WHERE "at" IS NOT NULL AND "at"::DATE BETWEEN DATE '{start}' AND DATE '{end}'
    GROUP BY 1, 2
    """


def cohort_conversion_by_channel(start: str, end: str, as_of: str) -> str:
    """MQL → customer per local month of entering mql, by lead channel: cohort, cumulative from
    the first stage, and flow."""
    in_range = "{c} IS NOT NULL AND {c}::DATE BETWEEN DATE '" + start + "' AND DATE '" + end + "'"
    return f"""
    WITH {_leads()}, {_firsts(as_of)}, {_reached()},
    j AS (SELECT r.*, l.channel FROM reached r LEFT JOIN leads_now l USING (lead_id)),
    main AS (
      SELECT date_trunc('month', mql_r::TIMESTAMP)::DATE AS period, channel,
             count(DISTINCT lead_id) AS entered,
             count(*) FILTER (WHERE customer_r IS NOT NULL
                              AND customer_r <= TIMESTAMPTZ '{as_of}') AS converted,
             count(*) FILTER (WHERE customer_r < mql_r) AS out_of_order,
             quantile_cont((epoch(customer_r) - epoch(mql_r)) / 86400.0, 0.5)
               FILTER (WHERE customer_r IS NOT NULL AND customer_r <= TIMESTAMPTZ '{as_of}')
               AS median_days_to_convert
      FROM j WHERE {in_range.format(c="mql_r")} GROUP BY 1, 2
    ),
    cum AS (
      SELECT date_trunc('month', lead_r::TIMESTAMP)::DATE AS period, channel,
             count(DISTINCT lead_id) AS cumulative_entered,
             count(*) FILTER (WHERE customer_r IS NOT NULL
                              AND customer_r <= TIMESTAMPTZ '{as_of}') AS cumulative_converted
      FROM j WHERE {in_range.format(c="lead_r")} GROUP BY 1, 2
    ),
    flow AS (
      SELECT date_trunc('month', customer_r::TIMESTAMP)::DATE AS period, channel,
             count(DISTINCT lead_id) AS flow_entered
      FROM j WHERE {in_range.format(c="customer_r")} GROUP BY 1, 2
    ),
    grid AS (
      SELECT period, channel FROM main UNION SELECT period, channel FROM cum
      UNION SELECT period, channel FROM flow
    )
    SELECT g.period, g.channel,
           coalesce(m.entered, 0) AS entered, coalesce(m.converted, 0) AS converted,
           CASE WHEN m.entered > 0 THEN m.converted / m.entered END AS rate,
           coalesce(m.out_of_order, 0) AS out_of_order, m.median_days_to_convert,
           coalesce(c.cumulative_entered, 0) AS cumulative_entered,
           coalesce(c.cumulative_converted, 0) AS cumulative_converted,
           CASE WHEN c.cumulative_entered > 0
                THEN c.cumulative_converted / c.cumulative_entered END AS cumulative_rate,
           coalesce(f.flow_entered, 0) AS flow_entered,
           CASE WHEN m.entered > 0 THEN coalesce(f.flow_entered, 0) / m.entered END
             AS flow_ratio
    FROM grid g
    LEFT JOIN main m ON g.period = m.period AND g.channel IS NOT DISTINCT FROM m.channel
    LEFT JOIN cum c ON g.period = c.period AND g.channel IS NOT DISTINCT FROM c.channel
    LEFT JOIN flow f ON g.period = f.period AND g.channel IS NOT DISTINCT FROM f.channel
    """


def median_time_in_stage(as_of: str) -> str:
    """Median days from the first entry into a stage to the first entry into the next stage the
    lead reached, over the leads that left it (next entry at or after)."""
    parts = []
    for i, s in enumerate(STAGES[:-1]):
        later = ", ".join(f"{t}_at" for t in STAGES[i + 1 :])
        nxt = f"coalesce({later})" if i + 1 < len(STAGES) - 1 else later
        parts.append(
            f"SELECT '{s}' AS stage, (epoch({nxt}) - epoch({s}_at)) / 86400.0 AS days "
            f"FROM firsts WHERE {s}_at IS NOT NULL AND {nxt} >= {s}_at"
        )
    union = "\n      UNION ALL ".join(parts)
    return f"""
    WITH {_leads()}, {_firsts(as_of)},
    left_stage AS (
      {union}
    )
    SELECT stage, quantile_cont(days, 0.5) AS median_days FROM left_stage GROUP BY stage
    """
