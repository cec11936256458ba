-- Each OPD's inbox: what answering knows of every question, and who has it.
CREATE TABLE questions (
    question_id  UUID PRIMARY KEY,
    ticket       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    category     TEXT NOT NULL,
    channel      TEXT NOT NULL,
    kecamatan    TEXT NOT NULL,
    text         TEXT NOT NULL,
    anonymous    BOOLEAN NOT NULL,
    confidential BOOLEAN NOT NULL,
    submitted_at TIMESTAMPTZ NOT NULL,
    status       TEXT NOT NULL,
    opd_code     TEXT,
    due_at       TIMESTAMPTZ,
    routed_at    TIMESTAMPTZ,
    answer       TEXT,
    -- Bumped on every change; clients pass it back as expected_version.
    version      BIGINT NOT NULL DEFAULT 1,
    -- The last foreign event applied: the cause of answering's next event.
    last_cause   UUID
);
CREATE INDEX questions_inbox ON questions (opd_code, due_at, question_id);
