"""PostgreSQL: the budget reservation as one function, so a model call reserves in one round
trip instead of four (BEGIN, lock, hold, COMMIT); see routing/services/budget_sql.py.

Its statements run as the Python path's do, each with a fresh snapshot (a VOLATILE
function takes one per statement): create the scopes' missing counters first (rows no one
else can see yet), then lock them all in one sorted statement, the order every other locker
keeps (locking the existing ones first and creating the rest after would hold a session's
lock while waiting for a new day's, and deadlock with a settlement at the start of a UTC
day); read what they have spent and what live reservations hold, now that no other
reserver can move them; insert the reservation only if no ceiling would be passed. SQLite
keeps the Python path, so this migration does nothing there.
"""

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

DROP = (
    "DROP FUNCTION IF EXISTS routing_reserve(text, date, text, numeric, timestamptz, "
    "timestamptz, text, text, numeric, numeric);"
)


def create_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("routing", "0003_policy_run_time_and_retries")]

    operations = [migrations.RunPython(create_function, drop_function, elidable=False)]
