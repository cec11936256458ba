-- What GetQuestion shows beyond the inbox, and each OPD's answer templates.
ALTER TABLE questions
    -- Whether intake holds a contact (never the contact itself); NULL: not known (older rows).
    ADD COLUMN has_contact     BOOLEAN,
    ADD COLUMN follow_up_plan  TEXT,
    ADD COLUMN follow_up_by    TIMESTAMPTZ,
    ADD COLUMN resolution_note TEXT;

-- Overdue filters scan only open questions of one OPD.
CREATE INDEX questions_open_due ON questions (opd_code, due_at)
    WHERE status IN ('SUBMITTED', 'TRIAGE', 'ROUTED', 'ACKNOWLEDGED');

-- Reusable answers, per OPD: one OPD never sees another's.
CREATE TABLE answer_templates (
    opd_code    TEXT        NOT NULL,
    template_id TEXT        NOT NULL,
    title       TEXT        NOT NULL,
    body        TEXT        NOT NULL,
    category    TEXT        NOT NULL DEFAULT '',
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (opd_code, template_id)
);
