-- A submission's tracking PIN is kept readable only while a retry of it may still come
-- (see submit.rs): afterwards only questions.pin_hash remains. PINs of older
-- submissions are cleared now; later ones by the service.
ALTER TABLE requests ALTER COLUMN tracking_pin DROP NOT NULL;
UPDATE requests SET tracking_pin = NULL WHERE created_at < now() - interval '24 hours';
CREATE INDEX requests_pin_kept ON requests (created_at) WHERE tracking_pin IS NOT NULL;

-- The holiday calendar in force, learnt from routing's HolidaysSet events, so a poor
-- rating's "within 10 working days" counts the days routing counts.
CREATE TABLE holidays (
    day  DATE PRIMARY KEY,
    year INT NOT NULL,
    name TEXT NOT NULL
);
CREATE INDEX holidays_by_year ON holidays (year);
