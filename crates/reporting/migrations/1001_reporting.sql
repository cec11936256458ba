-- Read models only: every figure here is derived from the events and can be rebuilt.
CREATE TABLE timeline (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    question_id UUID NOT NULL,
    event_id    UUID NOT NULL UNIQUE,
    event_type  TEXT NOT NULL,
    source      TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    summary     TEXT NOT NULL
);
CREATE INDEX timeline_question ON timeline (question_id, seq);

CREATE TABLE question_facts (
    question_id         UUID PRIMARY KEY,
    kind                TEXT NOT NULL,
    category            TEXT NOT NULL,
    channel             TEXT NOT NULL,
    kecamatan           TEXT NOT NULL,
    session_id          TEXT NOT NULL,
    confidential        BOOLEAN NOT NULL,
    submitted_at        TIMESTAMPTZ NOT NULL,
    status              TEXT NOT NULL,
    opd_code            TEXT,
    routed_at           TIMESTAMPTZ,
    due_at              TIMESTAMPTZ,
    answered_at         TIMESTAMPTZ,
    answered_within_due BOOLEAN
);
CREATE INDEX question_facts_opd ON question_facts (opd_code, routed_at);
