-- Citizens' identity at rest (UU 27/2022): each contact sealed with its own data key,
-- the data key kept wrapped by the deployment key in a table of its own, so erasing a
-- citizen destroys one row and operators can give key backups a shorter retention.
CREATE TABLE citizen_keys (
    question_id UUID PRIMARY KEY REFERENCES questions (question_id),
    wrapped_key BYTEA NOT NULL
);

CREATE TABLE sealed_contacts (
    question_id  UUID PRIMARY KEY REFERENCES questions (question_id),
    sealed       BYTEA,
    anonymous    BOOLEAN NOT NULL,
    confidential BOOLEAN NOT NULL,
    erased_at    TIMESTAMPTZ
);
-- The plaintext `contacts` table of 1001 is emptied into these at start-up (see vault.rs)
-- and no longer written.
