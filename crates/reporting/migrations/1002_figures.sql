-- The facts behind scorecards, session reports, unanswered lists, trends and exports.
-- Read models only: an existing deployment fills the new columns with `kenduren reporting rebuild`.
ALTER TABLE question_facts
    ADD COLUMN ticket               TEXT NOT NULL DEFAULT '',
    ADD COLUMN desa                 TEXT NOT NULL DEFAULT '',
    -- NULL for confidential questions: their text never enters reporting.
    ADD COLUMN text                 TEXT,
    -- When the current OPD got the question (routed or reassigned): the scorecard period key.
    ADD COLUMN assigned_at          TIMESTAMPTZ,
    ADD COLUMN escalation_level     INT NOT NULL DEFAULT 0,
    -- ON_SITE only: routing's on-the-spot deadline, when it gives one.
    ADD COLUMN on_the_spot_due_at   TIMESTAMPTZ,
    ADD COLUMN answered_on_the_spot BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN rating               INT,
    ADD COLUMN reopened             INT NOT NULL DEFAULT 0;
CREATE INDEX question_facts_assigned ON question_facts (opd_code, assigned_at);
CREATE INDEX question_facts_session ON question_facts (session_id);
CREATE INDEX question_facts_open ON question_facts (status, due_at);

-- Each escalation level a question reached, and the OPD it was assigned to then.
CREATE TABLE escalations (
    question_id  UUID NOT NULL,
    level        INT NOT NULL,
    opd_code     TEXT NOT NULL,
    escalated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (question_id, level)
);

CREATE TABLE sessions (
    session_id   TEXT PRIMARY KEY,
    dates        TEXT[] NOT NULL,
    -- The first day (WIB): the scorecard period key of attendance.
    starts_on    DATE,
    kecamatan    TEXT NOT NULL,
    desa         TEXT NOT NULL,
    scheduled_at TIMESTAMPTZ NOT NULL
);

-- One row per OPD expected at or checked in at a session.
CREATE TABLE session_opds (
    session_id    TEXT NOT NULL REFERENCES sessions (session_id),
    opd_code      TEXT NOT NULL,
    expected      BOOLEAN NOT NULL DEFAULT false,
    checked_in_at TIMESTAMPTZ,
    late          BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (session_id, opd_code)
);

-- Holidays and collective leave days as routing last set them (HolidaysSet), per year.
CREATE TABLE holidays (
    day  DATE PRIMARY KEY,
    year INT NOT NULL,
    name TEXT NOT NULL
);
