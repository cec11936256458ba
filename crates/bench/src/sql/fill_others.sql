-- Escalations of the filled questions (level 1 at the due date, level 2 a week later),
-- one session per kecamatan and month with every OPD expected and 90% checked in.
INSERT INTO escalations (event_id, question_id, level, opd_code, escalated_at)
SELECT gen_random_uuid(), question_id, l, opd_code, due_at + (l - 1) * interval '7 days'
FROM question_facts, generate_series(1, 2) AS l
WHERE escalation_level >= l AND opd_code IS NOT NULL;

INSERT INTO sessions (session_id, dates, starts_on, kecamatan, desa, scheduled_at)
SELECT DISTINCT ON (session_id) session_id, ARRAY[to_char(submitted_at, 'YYYY-MM-DD')],
       (submitted_at AT TIME ZONE 'Asia/Jakarta')::date, kecamatan, 'Desa 1', submitted_at - interval '14 days'
FROM question_facts WHERE session_id <> ''
ORDER BY session_id, submitted_at;

INSERT INTO session_opds (session_id, opd_code, expected, checked_in_at, late)
SELECT s.session_id, o.opd_code, true,
       CASE WHEN random() < 0.9 THEN s.starts_on + time '09:00' END, random() < 0.1
FROM sessions s, (SELECT DISTINCT opd_code FROM question_facts WHERE opd_code IS NOT NULL) o;
