-- Event store, outbox, inbox and dead letters of one service. Every service runs this in
-- its own schema (the pool's search_path), so nothing here is schema-qualified.

-- The system of record: append-only, one row per event. UNIQUE (stream_id,
-- stream_version) is what turns a stale writer into a conflict instead of an overwrite.
CREATE TABLE events (
    global_position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        UUID        NOT NULL UNIQUE,
    stream_id       TEXT        NOT NULL,
    stream_version  BIGINT      NOT NULL CHECK (stream_version > 0),
    event_type      TEXT        NOT NULL,
    subject         TEXT        NOT NULL,
    payload         BYTEA       NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    causation_id    UUID        NULL,
    traceparent     TEXT        NULL,
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);

-- Events waiting for (or done with) publication. The relay selects by the published
-- flag, not by "position > last seen": identity values commit out of order and a
-- cursor would skip the late ones.
CREATE TABLE outbox (
    position     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     UUID        NOT NULL UNIQUE REFERENCES events (event_id),
    published    BOOLEAN     NOT NULL DEFAULT false,
    published_at TIMESTAMPTZ NULL,
    attempts     INT         NOT NULL DEFAULT 0
);

CREATE INDEX outbox_pending_idx ON outbox (position) WHERE NOT published;

-- Events a consumer has applied (including the service's own events, recorded when
-- appended), so redeliveries are recognised.
CREATE TABLE inbox (
    consumer   TEXT        NOT NULL,
    event_id   UUID        NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Highest version applied per consumer and foreign stream: the gap detector.
CREATE TABLE stream_positions (
    consumer  TEXT   NOT NULL,
    source    TEXT   NOT NULL,
    stream_id TEXT   NOT NULL,
    version   BIGINT NOT NULL,
    PRIMARY KEY (consumer, source, stream_id)
);

-- Messages a consumer gave up on; kept whole so they can be inspected and replayed.
CREATE TABLE dead_letters (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer        TEXT        NOT NULL,
    event_id        UUID        NULL,
    subject         TEXT        NOT NULL,
    stream_sequence BIGINT      NULL,
    deliveries      BIGINT      NULL,
    error           TEXT        NOT NULL,
    headers         JSONB       NULL,
    payload         BYTEA       NULL,
    parked_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX dead_letters_consumer_idx ON dead_letters (consumer, parked_at);
