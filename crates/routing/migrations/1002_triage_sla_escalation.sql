-- Triage, SLA policy, holidays and stored deadlines for escalation.
ALTER TABLE questions
    ADD COLUMN triage_reason TEXT,
    ADD COLUMN triaged_at    TIMESTAMPTZ,
    -- Each assignment (routing, reassignment, reopening) starts a new clock; deadlines
    -- of older clocks no longer escalate.
    ADD COLUMN clock         INT NOT NULL DEFAULT 0;

CREATE INDEX questions_in_triage ON questions (triaged_at, question_id) WHERE status = 'TRIAGE';

CREATE TABLE holidays (
    day  DATE PRIMARY KEY,
    name TEXT NOT NULL
);

-- One row: the defaults.
CREATE TABLE sla_policy (
    singleton                 BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    answer_working_days       INT NOT NULL,
    resolution_days           INT NOT NULL,
    level2_after_working_days INT NOT NULL
);
INSERT INTO sla_policy VALUES (TRUE, 5, 60, 3);

-- Narrower targets; '' means any kind / any channel.
CREATE TABLE sla_targets (
    kind                TEXT NOT NULL,
    channel             TEXT NOT NULL,
    answer_working_days INT NOT NULL,
    resolution_days     INT NOT NULL,
    PRIMARY KEY (kind, channel)
);

-- The escalation deadlines of each clock; the primary key is the guard that makes each
-- level of each clock escalate at most once, whichever instance sweeps.
CREATE TABLE deadlines (
    question_id  UUID NOT NULL REFERENCES questions (question_id),
    clock        INT NOT NULL,
    level        INT NOT NULL,
    due_at       TIMESTAMPTZ NOT NULL,
    escalated_at TIMESTAMPTZ,
    PRIMARY KEY (question_id, clock, level)
);
CREATE INDEX deadlines_pending ON deadlines (due_at) WHERE escalated_at IS NULL;
