CREATE TABLE events (
    id          bigint PRIMARY KEY,
    user_id     integer,
    amount      numeric(12,2) NOT NULL,
    score       double precision,
    active      boolean NOT NULL,
    name        text,
    created_at  timestamptz NOT NULL,
    day         date NOT NULL,
    tag         uuid NOT NULL,
    payload     jsonb
);
