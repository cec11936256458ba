-- A read model for the tests: one row per application of an event, in commit order.
CREATE TABLE applied (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer       TEXT   NOT NULL,
    source         TEXT   NOT NULL,
    stream_id      TEXT   NOT NULL,
    stream_version BIGINT NOT NULL,
    event_id       UUID   NOT NULL,
    event_type     TEXT   NOT NULL
);
