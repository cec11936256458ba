-- Late check-ins in the scorecard: the attendance summaries (1005) also count, per OPD
-- and WIB day and month, the expected sessions it checked in at late (a subset of
-- `attended`). session_opds.late is intake's verdict, carried by OpdCheckedIn.
ALTER TABLE attendance_days ADD COLUMN late BIGINT NOT NULL DEFAULT 0;
ALTER TABLE attendance_months ADD COLUMN late BIGINT NOT NULL DEFAULT 0;

-- The same as 1005's, with the late count; the old signature goes so nothing keeps
-- calling a version that would leave `late` behind.
DROP FUNCTION attendance_move(TIMESTAMPTZ, TEXT, BOOLEAN, TIMESTAMPTZ, INT);
CREATE FUNCTION attendance_move(at TIMESTAMPTZ, opd TEXT, expected BOOLEAN, checked_in TIMESTAMPTZ, late BOOLEAN,
                                sign INT)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    d_expected INT := sign * expected::int;
    d_attended INT := sign * (expected AND checked_in IS NOT NULL)::int;
    d_late INT := sign * (expected AND checked_in IS NOT NULL AND late)::int;
BEGIN
    INSERT INTO attendance_days AS t (slot, opd_code, entries, expected, attended, late)
    VALUES ((at AT TIME ZONE 'Asia/Jakarta')::date, opd, sign, d_expected, d_attended, d_late)
    ON CONFLICT (slot, opd_code) DO UPDATE SET entries = t.entries + excluded.entries,
        expected = t.expected + excluded.expected, attended = t.attended + excluded.attended,
        late = t.late + excluded.late;
    INSERT INTO attendance_months AS t (slot, opd_code, entries, expected, attended, late)
    VALUES (date_trunc('month', at AT TIME ZONE 'Asia/Jakarta')::date, opd, sign, d_expected, d_attended, d_late)
    ON CONFLICT (slot, opd_code) DO UPDATE SET entries = t.entries + excluded.entries,
        expected = t.expected + excluded.expected, attended = t.attended + excluded.attended,
        late = t.late + excluded.late;
END
$$;

CREATE OR REPLACE FUNCTION attendance_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM attendance_move(attendance_key(OLD.session_id), OLD.opd_code, OLD.expected, OLD.checked_in_at,
                                OLD.late, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM attendance_move(attendance_key(NEW.session_id), NEW.opd_code, NEW.expected, NEW.checked_in_at,
                                NEW.late, 1);
    END IF;
    RETURN NULL;
END
$$;
-- `late` joins the columns whose change moves a row's contribution.
DROP TRIGGER attendance_update ON session_opds;
CREATE TRIGGER attendance_update AFTER UPDATE ON session_opds FOR EACH ROW
    WHEN ((OLD.session_id, OLD.opd_code, OLD.expected, OLD.checked_in_at, OLD.late)
          IS DISTINCT FROM (NEW.session_id, NEW.opd_code, NEW.expected, NEW.checked_in_at, NEW.late))
    EXECUTE FUNCTION attendance_entry();

CREATE OR REPLACE FUNCTION attendance_session() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o session_opds;
BEGIN
    FOR o IN SELECT * FROM session_opds WHERE session_id = NEW.session_id LOOP
        PERFORM attendance_move(COALESCE(OLD.starts_on::timestamp AT TIME ZONE 'Asia/Jakarta', OLD.scheduled_at),
                                o.opd_code, o.expected, o.checked_in_at, o.late, -1);
        PERFORM attendance_move(COALESCE(NEW.starts_on::timestamp AT TIME ZONE 'Asia/Jakarta', NEW.scheduled_at),
                                o.opd_code, o.expected, o.checked_in_at, o.late, 1);
    END LOOP;
    RETURN NULL;
END
$$;

-- Rows already there: the late counts of an existing deployment.
UPDATE attendance_days t SET late = x.n
FROM (SELECT (attendance_key(session_id) AT TIME ZONE 'Asia/Jakarta')::date AS slot, opd_code, count(*) AS n
      FROM session_opds WHERE expected AND checked_in_at IS NOT NULL AND late GROUP BY 1, 2) x
WHERE t.slot = x.slot AND t.opd_code = x.opd_code;
UPDATE attendance_months t SET late = x.n
FROM (SELECT date_trunc('month', attendance_key(session_id) AT TIME ZONE 'Asia/Jakarta')::date AS slot, opd_code,
             count(*) AS n
      FROM session_opds WHERE expected AND checked_in_at IS NOT NULL AND late GROUP BY 1, 2) x
WHERE t.slot = x.slot AND t.opd_code = x.opd_code;
