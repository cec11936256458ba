-- A key per citizen rather than per submission (UU 27/2022): erasing a citizen must
-- reach every ticket of theirs. A citizen is recognised by `citizen_ref`, an HMAC of the
-- normalised phone (else e-mail) under the deployment key; contacts with neither get a
-- random reference of their own (see vault.rs).

-- The per-question keys of 1003; intake re-seals their contacts under the citizen's key
-- at start-up and empties this table.
ALTER TABLE citizen_keys RENAME TO submission_keys;
ALTER TABLE submission_keys RENAME CONSTRAINT citizen_keys_pkey TO submission_keys_pkey;
ALTER TABLE submission_keys RENAME CONSTRAINT citizen_keys_question_id_fkey TO submission_keys_question_id_fkey;

CREATE TABLE citizen_keys (
    citizen_ref BYTEA PRIMARY KEY,
    -- The citizen's data key, wrapped by the deployment key and bound to citizen_ref.
    wrapped_key BYTEA NOT NULL
);

-- Which citizen a contact belongs to; cleared by erasure together with `sealed`, so
-- erased tickets can no longer be linked to each other. NULL only for a contact of 1003
-- not yet re-sealed, or an erased one.
ALTER TABLE sealed_contacts ADD COLUMN citizen_ref BYTEA REFERENCES citizen_keys (citizen_ref);
CREATE INDEX sealed_contacts_citizen_ref ON sealed_contacts (citizen_ref);
