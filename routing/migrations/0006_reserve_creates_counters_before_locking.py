"""PostgreSQL: `routing_reserve` (migration 0004) creates missing counters before it locks any.

0004 locked the counters that existed, then created the missing ones and locked again. A
reservation whose session counter existed but whose mode's day counter did not (the first
calls of a UTC day) so held the session's lock while it waited for the day's, out of the
sorted order every other locker keeps, and deadlocked with a settlement or reservation that
held the day's counter and wanted the session's: PostgreSQL then aborted one of them (a
failed call, or a settlement whose ledger row was lost). Now the missing counters are
inserted first, which holds only rows no one else can see yet, and all of them are locked
in one sorted statement after. The check that they exist is one more statement inside the
function, not one more round trip. Same signature and result as 0004.
"""

import importlib

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION routing_reserve(
    p_mode text, p_day date, p_session_ref text, p_amount numeric,
    p_now timestamptz, p_expires_at timestamptz,
    p_day_key text, p_session_key text,
    p_daily_ceiling numeric, p_session_ceiling numeric
) RETURNS TABLE (held_id bigint, day_total numeric, session_total numeric)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    keys text[] := array_remove(ARRAY[p_day_key, p_session_key], NULL);
BEGIN
    IF (SELECT count(*) FROM routing_budgetcounter WHERE key = ANY(keys)) < cardinality(keys)
    THEN
        INSERT INTO routing_budgetcounter (key, spent)
            SELECT k, 0 FROM unnest(keys) AS k ORDER BY k ON CONFLICT (key) DO NOTHING;
    END IF;
    PERFORM 1 FROM routing_budgetcounter WHERE key = ANY(keys) ORDER BY key FOR UPDATE;
    SELECT c.spent + COALESCE((
        SELECT SUM(r.amount) FROM routing_budgetreservation r
        WHERE r.mode = p_mode AND r.day = p_day AND r.expires_at > p_now), 0)
        INTO day_total FROM routing_budgetcounter c WHERE c.key = p_day_key;
    IF p_session_key IS NOT NULL THEN
        SELECT c.spent + COALESCE((
            SELECT SUM(r.amount) FROM routing_budgetreservation r
            WHERE r.session_ref = p_session_ref AND r.expires_at > p_now), 0)
            INTO session_total FROM routing_budgetcounter c WHERE c.key = p_session_key;
    END IF;
    IF (p_daily_ceiling IS NOT NULL AND day_total + p_amount > p_daily_ceiling)
        OR (p_session_key IS NOT NULL AND p_session_ceiling IS NOT NULL
            AND session_total + p_amount > p_session_ceiling) THEN
        held_id := NULL;
    ELSE
        INSERT INTO routing_budgetreservation
            (mode, day, session_ref, amount, created_at, expires_at)
            VALUES (p_mode, p_day, p_session_ref, p_amount, p_now, p_expires_at)
            RETURNING id INTO held_id;
    END IF;
    RETURN NEXT;
END
$$;
"""


def create_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def restore_0004(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        previous = importlib.import_module("routing.migrations.0004_reserve_function")
        schema_editor.execute(previous.CREATE)


class Migration(migrations.Migration):
    dependencies = [("routing", "0005_modelcall_request_id")]

    operations = [migrations.RunPython(create_function, restore_0004, elidable=False)]
