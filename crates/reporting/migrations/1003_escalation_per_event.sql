-- Routing starts a new clock when a question is reassigned or reopened, so one question
-- can reach a level more than once: keep one row per escalation event, not per level.
ALTER TABLE escalations ADD COLUMN event_id UUID;
UPDATE escalations SET event_id = gen_random_uuid() WHERE event_id IS NULL;
ALTER TABLE escalations ALTER COLUMN event_id SET NOT NULL;
ALTER TABLE escalations DROP CONSTRAINT escalations_pkey;
ALTER TABLE escalations ADD PRIMARY KEY (event_id);
CREATE INDEX escalations_question ON escalations (question_id, level);
