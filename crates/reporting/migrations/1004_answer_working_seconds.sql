-- Scorecards at scale: the working seconds from the current assignment to the first
-- answer are kept per question (the projection computes them with the same
-- `figures::working_hours` the scorecards used at query time, and recomputes them when
-- a question is reassigned or routing changes the holidays), so a scorecard is one
-- aggregate in SQL instead of fetching every answered row.
ALTER TABLE question_facts ADD COLUMN answer_working_seconds BIGINT;

-- Existing rows: the same definition in SQL — per WIB day from the assignment's to the
-- answer's, Monday to Friday minus holidays, the whole seconds of [08:00, 16:00) that fall
-- inside [assigned_at, answered_at); zero without an assignment. (Asia/Jakarta is UTC+7
-- with no daylight saving.)
UPDATE question_facts q
SET answer_working_seconds = CASE
    WHEN q.assigned_at IS NULL OR q.answered_at <= q.assigned_at THEN 0
    ELSE COALESCE((
        SELECT sum(floor(extract(epoch FROM
                   least(d + time '16:00', q.answered_at AT TIME ZONE 'Asia/Jakarta')
                 - greatest(d + time '08:00', q.assigned_at AT TIME ZONE 'Asia/Jakarta'))))::bigint
        FROM generate_series((q.assigned_at AT TIME ZONE 'Asia/Jakarta')::date::timestamp,
                             (q.answered_at AT TIME ZONE 'Asia/Jakarta')::date::timestamp,
                             interval '1 day') AS d
        WHERE extract(isodow FROM d) < 6
          AND NOT EXISTS (SELECT 1 FROM holidays h WHERE h.day = d::date)
          AND least(d + time '16:00', q.answered_at AT TIME ZONE 'Asia/Jakarta')
            > greatest(d + time '08:00', q.assigned_at AT TIME ZONE 'Asia/Jakarta')
    ), 0)
END
WHERE q.answered_at IS NOT NULL;

-- ListUnanswered: open questions in the listing's order (due date, then submission), whole
-- and per OPD / kecamatan, so a page is an index range read instead of a sort of every
-- open question, and the counts an index-only scan of the open ones.
CREATE INDEX question_facts_unanswered ON question_facts (due_at, submitted_at, question_id)
    INCLUDE (confidential, escalation_level, opd_code, kecamatan, category)
    WHERE status IN ('SUBMITTED', 'TRIAGE', 'ROUTED', 'ACKNOWLEDGED');
CREATE INDEX question_facts_unanswered_opd ON question_facts (opd_code, due_at, submitted_at, question_id)
    INCLUDE (confidential, escalation_level)
    WHERE status IN ('SUBMITTED', 'TRIAGE', 'ROUTED', 'ACKNOWLEDGED');
CREATE INDEX question_facts_unanswered_kecamatan ON question_facts (kecamatan, due_at, submitted_at, question_id)
    INCLUDE (confidential, escalation_level)
    WHERE status IN ('SUBMITTED', 'TRIAGE', 'ROUTED', 'ACKNOWLEDGED');
