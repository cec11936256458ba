-- Intake's own state: idempotency keys, tickets, the citizen tracking view and contacts.
CREATE SEQUENCE ticket_seq;

CREATE TABLE sessions (
    session_id TEXT PRIMARY KEY,
    kecamatan  TEXT NOT NULL,
    desa       TEXT NOT NULL,
    dates      DATE[] NOT NULL
);

CREATE TABLE requests (
    request_id   TEXT PRIMARY KEY,
    fingerprint  BYTEA NOT NULL,
    question_id  UUID NOT NULL,
    ticket       TEXT NOT NULL,
    tracking_pin TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- What a citizen sees when tracking: kept current from every service's events.
CREATE TABLE questions (
    question_id    UUID PRIMARY KEY,
    ticket         TEXT NOT NULL UNIQUE,
    pin_hash       BYTEA NOT NULL,
    status         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    category       TEXT NOT NULL,
    channel        TEXT NOT NULL,
    session_id     TEXT NOT NULL DEFAULT '',
    kecamatan      TEXT NOT NULL,
    desa           TEXT NOT NULL,
    opd_code       TEXT,
    due_at         TIMESTAMPTZ,
    answer         TEXT,
    follow_up_plan TEXT,
    rating         INT,
    submitted_at   TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- Identity never leaves intake on the bus.
CREATE TABLE contacts (
    question_id  UUID PRIMARY KEY REFERENCES questions (question_id),
    name         TEXT NOT NULL,
    phone        TEXT NOT NULL,
    email        TEXT NOT NULL,
    anonymous    BOOLEAN NOT NULL,
    confidential BOOLEAN NOT NULL
);

CREATE TABLE timeline (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    question_id UUID NOT NULL REFERENCES questions (question_id),
    event_id    UUID NOT NULL UNIQUE,
    event_type  TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    summary     TEXT NOT NULL
);
CREATE INDEX timeline_question ON timeline (question_id, seq);
