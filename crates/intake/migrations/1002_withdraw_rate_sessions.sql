-- Withdrawal and rating on the tracking view; sessions and check-ins filled from
-- intake's own session events in the transaction that appends them.
ALTER TABLE questions
    ADD COLUMN last_cause     UUID,
    ADD COLUMN answered_at    TIMESTAMPTZ,
    ADD COLUMN rated          BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN rating_comment TEXT;

ALTER TABLE sessions
    ADD COLUMN expected_opds TEXT[] NOT NULL DEFAULT '{}',
    -- Each entry "day|HH:MM|activity" (day and time never contain '|').
    ADD COLUMN programme     TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN starts_at     TIMESTAMPTZ,
    ADD COLUMN scheduled_at  TIMESTAMPTZ NOT NULL DEFAULT now();
CREATE INDEX sessions_by_date ON sessions ((dates[1]), session_id);

CREATE TABLE check_ins (
    session_id     TEXT NOT NULL REFERENCES sessions (session_id),
    opd_code       TEXT NOT NULL,
    representative TEXT NOT NULL,
    late           BOOLEAN NOT NULL,
    checked_in_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (session_id, opd_code)
);
