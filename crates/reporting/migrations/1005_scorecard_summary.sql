-- Scorecards at scale: what a scorecard adds up over a period is kept per OPD and WIB day
-- and per OPD and WIB month of `assigned_at`, maintained by triggers on question_facts, so
-- GetOpdScorecards reads a few hundred summary rows instead of every question of the
-- period. Triggers (not the projection) keep them so they hold for the live projection,
-- a rebuild and a bulk SQL fill alike. Inserts are summed per statement (a bulk
-- INSERT … SELECT is one set-based pass); updates and deletes move one row at a time.
--
-- Only figures that do not depend on "now" are here: `overdue` is counted at query time
-- from the open questions. The median and p90 working time are exact nearest-rank values:
-- `hist` counts the period's answered questions per working-seconds bucket (a monotone
-- function of the seconds), which locates the bucket holding rank ⌈p·n⌉; the exact value
-- is then read from question_facts_answer_bucket, inside that one bucket.
--
-- A question with an OPD but no assignment time (none today) counts under the day and
-- month '-infinity', which only an unbounded period reads, as `assigned_at < …` excludes it.

-- The working-seconds bucket: ⌊√(s / 5)⌋ capped at 255 (the last bucket holds everything
-- from 327,680 s, about 11 working days of 8 hours). Non-decreasing in s, which is all that
-- locating a rank needs; square-root widths keep each bucket's share of the answers small
-- from minutes to days (a percentile in the last bucket is still exact, only slower to
-- read). Array index = bucket + 1.
CREATE FUNCTION scorecard_bucket(secs BIGINT) RETURNS INT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN least(floor(sqrt((greatest(secs, 0) / 5)::float8)), 255)::int;

-- A dense 256-bucket histogram from (bucket, count) pairs.
CREATE FUNCTION scorecard_hist(buckets INT[], counts BIGINT[]) RETURNS INT[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT array_agg(coalesce(c.n, 0)::int ORDER BY g.i)
            FROM generate_series(0, 255) AS g(i)
            LEFT JOIN (SELECT b, sum(n) AS n FROM unnest(buckets, counts) AS u(b, n) GROUP BY b) c
                   ON c.b = g.i);

-- Element-wise sum of two histograms.
CREATE FUNCTION scorecard_hist_add(a INT[], b INT[]) RETURNS INT[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT array_agg(x + y ORDER BY i) FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i));

CREATE TABLE scorecard_days (
    slot        DATE NOT NULL,
    opd_code    TEXT NOT NULL,
    assigned    BIGINT NOT NULL,
    answered    BIGINT NOT NULL,
    within_due  BIGINT NOT NULL,
    open        BIGINT NOT NULL,
    on_site     BIGINT NOT NULL,
    on_the_spot BIGINT NOT NULL,
    rating_sum  BIGINT NOT NULL,
    rated       BIGINT NOT NULL,
    reopened    BIGINT NOT NULL,
    -- Answered questions with working seconds, per scorecard_bucket.
    hist        INT[] NOT NULL,
    PRIMARY KEY (slot, opd_code)
);
-- The same per WIB month; slot = the month's first day.
CREATE TABLE scorecard_months (LIKE scorecard_days INCLUDING ALL);

-- A bulk insert (the benchmark's fill, this migration's own back-fill) in one set-based
-- pass: statement-level, over the transition table. The live projection inserts a
-- question on submission, before it has an OPD, so its inserts add nothing.
CREATE FUNCTION scorecard_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows WHERE opd_code IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    -- Keys in a fixed order, so concurrent writers lock summary rows in the same order.
    WITH q AS (
        SELECT n.opd_code,
               coalesce((n.assigned_at AT TIME ZONE 'Asia/Jakarta')::date, '-infinity') AS day,
               coalesce(date_trunc('month', n.assigned_at AT TIME ZONE 'Asia/Jakarta')::date, '-infinity') AS month,
               n.answered_at, n.answered_within_due, n.status, n.channel, n.answered_on_the_spot,
               n.rating, n.reopened,
               CASE WHEN n.answered_at IS NOT NULL THEN scorecard_bucket(n.answer_working_seconds) END AS bucket
        FROM new_rows n WHERE n.opd_code IS NOT NULL
    ), days AS (
        INSERT INTO scorecard_days AS t
        SELECT day, opd_code, count(*), count(answered_at), count(*) FILTER (WHERE answered_within_due),
               count(*) FILTER (WHERE status IN ('ROUTED', 'ACKNOWLEDGED')),
               count(*) FILTER (WHERE channel = 'ON_SITE'), count(*) FILTER (WHERE answered_on_the_spot),
               coalesce(sum(rating), 0), count(rating), count(*) FILTER (WHERE reopened > 0),
               scorecard_hist(array_agg(bucket) FILTER (WHERE bucket IS NOT NULL),
                              array_agg(1::bigint) FILTER (WHERE bucket IS NOT NULL))
        FROM q GROUP BY day, opd_code ORDER BY day, opd_code
        ON CONFLICT (slot, opd_code) DO UPDATE SET
            assigned = t.assigned + excluded.assigned, answered = t.answered + excluded.answered,
            within_due = t.within_due + excluded.within_due, open = t.open + excluded.open,
            on_site = t.on_site + excluded.on_site, on_the_spot = t.on_the_spot + excluded.on_the_spot,
            rating_sum = t.rating_sum + excluded.rating_sum, rated = t.rated + excluded.rated,
            reopened = t.reopened + excluded.reopened, hist = scorecard_hist_add(t.hist, excluded.hist)
    )
    INSERT INTO scorecard_months AS t
    SELECT month, opd_code, count(*), count(answered_at), count(*) FILTER (WHERE answered_within_due),
           count(*) FILTER (WHERE status IN ('ROUTED', 'ACKNOWLEDGED')),
           count(*) FILTER (WHERE channel = 'ON_SITE'), count(*) FILTER (WHERE answered_on_the_spot),
           coalesce(sum(rating), 0), count(rating), count(*) FILTER (WHERE reopened > 0),
           scorecard_hist(array_agg(bucket) FILTER (WHERE bucket IS NOT NULL),
                          array_agg(1::bigint) FILTER (WHERE bucket IS NOT NULL))
    FROM q GROUP BY month, opd_code ORDER BY month, opd_code
    ON CONFLICT (slot, opd_code) DO UPDATE SET
        assigned = t.assigned + excluded.assigned, answered = t.answered + excluded.answered,
        within_due = t.within_due + excluded.within_due, open = t.open + excluded.open,
        on_site = t.on_site + excluded.on_site, on_the_spot = t.on_the_spot + excluded.on_the_spot,
        rating_sum = t.rating_sum + excluded.rating_sum, rated = t.rated + excluded.rated,
        reopened = t.reopened + excluded.reopened, hist = scorecard_hist_add(t.hist, excluded.hist);
    RETURN NULL;
END
$$;
CREATE TRIGGER scorecard_insert AFTER INSERT ON question_facts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION scorecard_insert();

-- Adds (sign 1) or takes away (sign -1) one question's contribution to its day and month.
CREATE FUNCTION scorecard_move(q question_facts, sign INT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    d_day DATE := coalesce((q.assigned_at AT TIME ZONE 'Asia/Jakarta')::date, '-infinity');
    d_month DATE := coalesce(date_trunc('month', q.assigned_at AT TIME ZONE 'Asia/Jakarta')::date, '-infinity');
    bucket INT := CASE WHEN q.answered_at IS NOT NULL THEN scorecard_bucket(q.answer_working_seconds) END;
    -- Without a bucket the histogram's first cell gets + 0.
    cell INT := coalesce(bucket, 0) + 1;
    hit INT := CASE WHEN bucket IS NULL THEN 0 ELSE sign END;
    d_answered INT := sign * (q.answered_at IS NOT NULL)::int;
    d_within_due INT := sign * coalesce(q.answered_within_due, false)::int;
    d_open INT := sign * (q.status IN ('ROUTED', 'ACKNOWLEDGED'))::int;
    d_on_site INT := sign * (q.channel = 'ON_SITE')::int;
    d_on_the_spot INT := sign * q.answered_on_the_spot::int;
    d_rating INT := sign * coalesce(q.rating, 0);
    d_rated INT := sign * (q.rating IS NOT NULL)::int;
    d_reopened INT := sign * (q.reopened > 0)::int;
    fresh INT[] := array_fill(0, ARRAY[256]);
    remaining BIGINT;
BEGIN
    IF q.opd_code IS NULL THEN
        RETURN;
    END IF;
    fresh[cell] := hit;
    UPDATE scorecard_days t SET assigned = t.assigned + sign, answered = t.answered + d_answered,
           within_due = t.within_due + d_within_due, open = t.open + d_open, on_site = t.on_site + d_on_site,
           on_the_spot = t.on_the_spot + d_on_the_spot, rating_sum = t.rating_sum + d_rating,
           rated = t.rated + d_rated, reopened = t.reopened + d_reopened, hist[cell] = t.hist[cell] + hit
    WHERE t.slot = d_day AND t.opd_code = q.opd_code
    RETURNING t.assigned INTO remaining;
    IF NOT FOUND THEN
        INSERT INTO scorecard_days VALUES (d_day, q.opd_code, sign, d_answered, d_within_due, d_open, d_on_site,
                                           d_on_the_spot, d_rating, d_rated, d_reopened, fresh);
    ELSIF remaining = 0 THEN
        -- A day that lost its last question (a reassignment) leaves no zero row behind.
        DELETE FROM scorecard_days t WHERE t.slot = d_day AND t.opd_code = q.opd_code;
    END IF;
    UPDATE scorecard_months t SET assigned = t.assigned + sign, answered = t.answered + d_answered,
           within_due = t.within_due + d_within_due, open = t.open + d_open, on_site = t.on_site + d_on_site,
           on_the_spot = t.on_the_spot + d_on_the_spot, rating_sum = t.rating_sum + d_rating,
           rated = t.rated + d_rated, reopened = t.reopened + d_reopened, hist[cell] = t.hist[cell] + hit
    WHERE t.slot = d_month AND t.opd_code = q.opd_code
    RETURNING t.assigned INTO remaining;
    IF NOT FOUND THEN
        INSERT INTO scorecard_months VALUES (d_month, q.opd_code, sign, d_answered, d_within_due, d_open, d_on_site,
                                             d_on_the_spot, d_rating, d_rated, d_reopened, fresh);
    ELSIF remaining = 0 THEN
        DELETE FROM scorecard_months t WHERE t.slot = d_month AND t.opd_code = q.opd_code;
    END IF;
END
$$;

-- Updates and deletes row by row: the projection changes one question per statement, and
-- the WHEN clause skips, without calling any function, the many updates that touch no
-- column a scorecard reads (acknowledged, escalated, …).
CREATE FUNCTION scorecard_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM scorecard_move(OLD, -1);
    IF TG_OP = 'UPDATE' THEN
        PERFORM scorecard_move(NEW, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER scorecard_update AFTER UPDATE ON question_facts FOR EACH ROW
    WHEN ((OLD.opd_code, OLD.assigned_at, OLD.answered_at, OLD.answered_within_due, OLD.status,
           OLD.channel, OLD.answered_on_the_spot, OLD.rating, OLD.reopened, OLD.answer_working_seconds)
          IS DISTINCT FROM
          (NEW.opd_code, NEW.assigned_at, NEW.answered_at, NEW.answered_within_due, NEW.status,
           NEW.channel, NEW.answered_on_the_spot, NEW.rating, NEW.reopened, NEW.answer_working_seconds))
    EXECUTE FUNCTION scorecard_change();
CREATE TRIGGER scorecard_delete AFTER DELETE ON question_facts FOR EACH ROW
    EXECUTE FUNCTION scorecard_change();

CREATE FUNCTION scorecard_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE scorecard_days, scorecard_months;
    RETURN NULL;
END
$$;
CREATE TRIGGER scorecard_truncate AFTER TRUNCATE ON question_facts
    FOR EACH STATEMENT EXECUTE FUNCTION scorecard_truncate();

-- Rows already there (an existing deployment): put back through the insert trigger.
CREATE TEMP TABLE scorecard_existing ON COMMIT DROP AS SELECT * FROM question_facts;
TRUNCATE question_facts;
INSERT INTO question_facts SELECT * FROM scorecard_existing;

-- The exact percentile inside its bucket: the period's answered questions of one OPD in
-- one bucket, an index range, sorted by their seconds.
CREATE INDEX question_facts_answer_bucket
    ON question_facts (opd_code, scorecard_bucket(answer_working_seconds), assigned_at)
    INCLUDE (answer_working_seconds)
    WHERE answered_at IS NOT NULL AND answer_working_seconds IS NOT NULL;
-- A period's partial first and last days are read from the facts.
CREATE INDEX question_facts_assigned_at ON question_facts (assigned_at);
-- Overdue depends on the time of the request: counted per OPD over the period's open
-- questions (one index range per OPD, no grouping).
CREATE INDEX question_facts_open_assigned ON question_facts (opd_code, assigned_at, due_at)
    WHERE status IN ('ROUTED', 'ACKNOWLEDGED');

-- Escalations: a scorecard counts the distinct questions escalated per OPD and level in
-- the period, and a question can reach a level more than once (1003). A row is `shared`
-- when another row has its question, level and OPD; the rest ("singles") count one
-- question each and are summed per WIB day and month of escalated_at, while the few
-- shared rows are counted distinct at query time.
ALTER TABLE escalations ADD COLUMN shared BOOLEAN NOT NULL DEFAULT false;
UPDATE escalations e SET shared = true
WHERE EXISTS (SELECT 1 FROM escalations o
              WHERE o.question_id = e.question_id AND o.level = e.level AND o.opd_code = e.opd_code
                AND o.event_id <> e.event_id);

CREATE TABLE escalation_days (
    slot     DATE NOT NULL,
    opd_code TEXT NOT NULL,
    level    INT NOT NULL,
    singles  BIGINT NOT NULL,
    PRIMARY KEY (slot, opd_code, level)
);
CREATE TABLE escalation_months (LIKE escalation_days INCLUDING ALL);
INSERT INTO escalation_days
SELECT (escalated_at AT TIME ZONE 'Asia/Jakarta')::date, opd_code, level, count(*)
FROM escalations WHERE NOT shared GROUP BY 1, 2, 3;
INSERT INTO escalation_months
SELECT date_trunc('month', escalated_at AT TIME ZONE 'Asia/Jakarta')::date, opd_code, level, count(*)
FROM escalations WHERE NOT shared GROUP BY 1, 2, 3;

-- The projection only inserts escalations (and a rebuild starts from empty tables).
CREATE FUNCTION escalation_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH k AS (
        SELECT DISTINCT question_id, level, opd_code FROM new_rows
    ), multi AS (
        SELECT k.question_id, k.level, k.opd_code
        FROM k JOIN escalations e USING (question_id, level, opd_code)
        GROUP BY k.question_id, k.level, k.opd_code HAVING count(*) > 1
    ), flipped AS (
        UPDATE escalations e SET shared = true FROM multi m
        WHERE e.question_id = m.question_id AND e.level = m.level AND e.opd_code = m.opd_code AND NOT e.shared
        RETURNING e.event_id, e.escalated_at, e.opd_code, e.level
    ), delta AS (
        -- Rows that were singles before this statement leave the sums…
        SELECT f.escalated_at, f.opd_code, f.level, -1 AS n FROM flipped f
        WHERE NOT EXISTS (SELECT 1 FROM new_rows r WHERE r.event_id = f.event_id)
        UNION ALL
        -- …and the new rows that are alone join them.
        SELECT r.escalated_at, r.opd_code, r.level, 1 FROM new_rows r
        WHERE NOT EXISTS (SELECT 1 FROM multi m
                          WHERE m.question_id = r.question_id AND m.level = r.level AND m.opd_code = r.opd_code)
    ), days AS (
        INSERT INTO escalation_days AS t
        SELECT (escalated_at AT TIME ZONE 'Asia/Jakarta')::date AS slot, opd_code, level, sum(n)
        FROM delta GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (slot, opd_code, level) DO UPDATE SET singles = t.singles + excluded.singles
    )
    INSERT INTO escalation_months AS t
    SELECT date_trunc('month', escalated_at AT TIME ZONE 'Asia/Jakarta')::date AS slot, opd_code, level, sum(n)
    FROM delta GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (slot, opd_code, level) DO UPDATE SET singles = t.singles + excluded.singles;
    RETURN NULL;
END
$$;
CREATE TRIGGER escalation_insert AFTER INSERT ON escalations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION escalation_insert();

-- Anything else that changes escalations would leave the sums behind: refuse it.
CREATE FUNCTION escalation_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'escalations are insert-only (the scorecard sums depend on it)';
END
$$;
CREATE TRIGGER escalation_frozen BEFORE UPDATE OF question_id, level, opd_code, escalated_at OR DELETE
    ON escalations FOR EACH ROW EXECUTE FUNCTION escalation_frozen();
CREATE FUNCTION escalation_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE escalation_days, escalation_months;
    RETURN NULL;
END
$$;
CREATE TRIGGER escalation_truncate AFTER TRUNCATE ON escalations
    FOR EACH STATEMENT EXECUTE FUNCTION escalation_truncate();

CREATE INDEX escalations_single_at ON escalations (escalated_at) INCLUDE (opd_code, level) WHERE NOT shared;
CREATE INDEX escalations_shared_at ON escalations (escalated_at) INCLUDE (opd_code, level, question_id) WHERE shared;

-- Attendance: session_opds rows per OPD, summed per WIB day and month of the session's
-- period key (its first day, else when it was scheduled), as the scorecard reads them.
CREATE TABLE attendance_days (
    slot     DATE NOT NULL,
    opd_code TEXT NOT NULL,
    -- session_opds rows (an OPD that checked in unexpected still gets a scorecard).
    entries  BIGINT NOT NULL,
    expected BIGINT NOT NULL,
    attended BIGINT NOT NULL,
    PRIMARY KEY (slot, opd_code)
);
CREATE TABLE attendance_months (LIKE attendance_days INCLUDING ALL);

-- Adds (sign 1) or takes away (sign -1) one session_opds row keyed at `at`.
CREATE FUNCTION attendance_move(at TIMESTAMPTZ, opd TEXT, expected BOOLEAN, checked_in TIMESTAMPTZ, sign INT)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    d_expected INT := sign * expected::int;
    d_attended INT := sign * (expected AND checked_in IS NOT NULL)::int;
BEGIN
    INSERT INTO attendance_days AS t
    VALUES ((at AT TIME ZONE 'Asia/Jakarta')::date, opd, sign, d_expected, d_attended)
    ON CONFLICT (slot, opd_code) DO UPDATE SET entries = t.entries + excluded.entries,
        expected = t.expected + excluded.expected, attended = t.attended + excluded.attended;
    INSERT INTO attendance_months AS t
    VALUES (date_trunc('month', at AT TIME ZONE 'Asia/Jakarta')::date, opd, sign, d_expected, d_attended)
    ON CONFLICT (slot, opd_code) DO UPDATE SET entries = t.entries + excluded.entries,
        expected = t.expected + excluded.expected, attended = t.attended + excluded.attended;
END
$$;

-- The period key of a session, as the scorecard has always taken it.
CREATE FUNCTION attendance_key(id TEXT) RETURNS TIMESTAMPTZ LANGUAGE sql STABLE
    RETURN (SELECT COALESCE(s.starts_on::timestamp AT TIME ZONE 'Asia/Jakarta', s.scheduled_at)
            FROM sessions s WHERE s.session_id = id);

CREATE FUNCTION attendance_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM attendance_move(attendance_key(OLD.session_id), OLD.opd_code, OLD.expected, OLD.checked_in_at, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM attendance_move(attendance_key(NEW.session_id), NEW.opd_code, NEW.expected, NEW.checked_in_at, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER attendance_insert AFTER INSERT OR DELETE ON session_opds
    FOR EACH ROW EXECUTE FUNCTION attendance_entry();
CREATE TRIGGER attendance_update AFTER UPDATE ON session_opds FOR EACH ROW
    WHEN ((OLD.session_id, OLD.opd_code, OLD.expected, OLD.checked_in_at)
          IS DISTINCT FROM (NEW.session_id, NEW.opd_code, NEW.expected, NEW.checked_in_at))
    EXECUTE FUNCTION attendance_entry();

-- A session that moves takes its OPDs' rows with it.
CREATE FUNCTION attendance_session() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o session_opds;
BEGIN
    FOR o IN SELECT * FROM session_opds WHERE session_id = NEW.session_id LOOP
        PERFORM attendance_move(COALESCE(OLD.starts_on::timestamp AT TIME ZONE 'Asia/Jakarta', OLD.scheduled_at),
                                o.opd_code, o.expected, o.checked_in_at, -1);
        PERFORM attendance_move(COALESCE(NEW.starts_on::timestamp AT TIME ZONE 'Asia/Jakarta', NEW.scheduled_at),
                                o.opd_code, o.expected, o.checked_in_at, 1);
    END LOOP;
    RETURN NULL;
END
$$;
CREATE TRIGGER attendance_session AFTER UPDATE ON sessions FOR EACH ROW
    WHEN (COALESCE(OLD.starts_on::timestamp AT TIME ZONE 'Asia/Jakarta', OLD.scheduled_at)
          IS DISTINCT FROM COALESCE(NEW.starts_on::timestamp AT TIME ZONE 'Asia/Jakarta', NEW.scheduled_at))
    EXECUTE FUNCTION attendance_session();

CREATE FUNCTION attendance_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE attendance_days, attendance_months;
    RETURN NULL;
END
$$;
CREATE TRIGGER attendance_truncate AFTER TRUNCATE ON session_opds
    FOR EACH STATEMENT EXECUTE FUNCTION attendance_truncate();

-- Rows already there.
INSERT INTO attendance_days
SELECT (k AT TIME ZONE 'Asia/Jakarta')::date, opd_code, count(*), count(*) FILTER (WHERE expected),
       count(*) FILTER (WHERE expected AND checked_in_at IS NOT NULL)
FROM (SELECT o.*, attendance_key(o.session_id) AS k FROM session_opds o) x GROUP BY 1, 2;
INSERT INTO attendance_months
SELECT date_trunc('month', k AT TIME ZONE 'Asia/Jakarta')::date, opd_code, count(*), count(*) FILTER (WHERE expected),
       count(*) FILTER (WHERE expected AND checked_in_at IS NOT NULL)
FROM (SELECT o.*, attendance_key(o.session_id) AS k FROM session_opds o) x GROUP BY 1, 2;
