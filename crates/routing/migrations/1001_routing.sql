-- Routing's state: the OPD directory, the rules, and what it knows of each question.
CREATE TABLE opds (
    code    TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    contact TEXT NOT NULL,
    active  BOOLEAN NOT NULL
);

CREATE TABLE rules (
    rule_id   TEXT PRIMARY KEY,
    category  TEXT NOT NULL,
    opd_code  TEXT NOT NULL REFERENCES opds (code),
    priority  INT NOT NULL,
    kinds     TEXT[] NOT NULL DEFAULT '{}',
    kecamatan TEXT[] NOT NULL DEFAULT '{}',
    keywords  TEXT[] NOT NULL DEFAULT '{}'
);

CREATE TABLE questions (
    question_id  UUID PRIMARY KEY,
    ticket       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    category     TEXT NOT NULL,
    channel      TEXT NOT NULL,
    kecamatan    TEXT NOT NULL,
    text         TEXT NOT NULL,
    status       TEXT NOT NULL,
    opd_code     TEXT,
    rejected_by  TEXT[] NOT NULL DEFAULT '{}',
    due_at       TIMESTAMPTZ,
    submitted_at TIMESTAMPTZ NOT NULL
);
