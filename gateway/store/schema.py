"""The schema as numbered migrations, in SQL that SQLite and MariaDB both accept.

The dialect differences, each named here once:
- `{autoincrement_pk}` in a statement is filled in by each dialect;
- an `OnlyOn(dialect, sql)` statement runs on that dialect and is skipped by the others, for
  what only one of them needs (MariaDB's collations: SQLite compares text byte for byte anyway).

On MariaDB every text column compares exactly (`utf8mb4_nopad_bin`: case and trailing spaces
count, as on SQLite). Migration 6 converted the tables of 1-5 and made it the database default;
the MariaDB store also gives it to every CREATE TABLE of a migration itself (see
`MySQLStore.render`), since a pooled connection keeps the default it saw when it opened.
tests/integration/store/test_exact_names.py checks every column after all migrations.
Never edit a released migration: add the next number.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OnlyOn:
    """A statement for one dialect (`Store.dialect`); the others skip it."""

    dialect: str
    sql: str


Statement = str | OnlyOn


def sql_for(statement: Statement, dialect: str) -> str | None:
    """The SQL `dialect` runs for a statement of a migration; None when it skips it."""
    if isinstance(statement, OnlyOn):
        return statement.sql if statement.dialect == dialect else None
    return statement


# MariaDB's exact collation. Not `utf8mb4_bin`: MariaDB's binary collations pad, so there
# `'alice ' = 'alice'` holds; the NOPAD one compares every character, as SQLite does.
EXACT_COLLATION = "utf8mb4_nopad_bin"

# Every table that holds text, as of migration 6 (schema_migrations holds only numbers).
_TEXT_TABLES = (
    "users", "refresh_tokens", "teams", "team_members", "namespaces", "app_tokens", "revoked_app_tokens",
    "events", "webhooks", "webhook_failures", "repositories", "tags", "manifests", "uploads", "revoked_subjects",
)

# Migration 26's trigrams of the names indexed before it (a name is at most 255 characters).
_BACKFILL_GRAMS = (
    "INSERT INTO repository_grams (gram, name)"
    " WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 253)"
    " SELECT DISTINCT SUBSTR(r.name, k.i, 3), r.name FROM repositories r JOIN k ON k.i <= {length}(r.name) - 2"
)

MIGRATIONS: tuple[tuple[int, tuple[Statement, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE users (
                name VARCHAR(64) NOT NULL PRIMARY KEY,
                password_hash VARCHAR(255) NOT NULL,
                admin INTEGER NOT NULL DEFAULT 0,
                disabled INTEGER NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )""",
            """CREATE TABLE refresh_tokens (
                token_hash CHAR(64) NOT NULL PRIMARY KEY,
                username VARCHAR(64) NOT NULL,
                service VARCHAR(255) NOT NULL,
                client_id VARCHAR(255) NOT NULL,
                created_at BIGINT NOT NULL,
                revoked_at BIGINT NULL
            )""",
            "CREATE INDEX refresh_tokens_by_user ON refresh_tokens (username)",
        ),
    ),
    (
        2,
        (
            """CREATE TABLE teams (
                name VARCHAR(64) NOT NULL PRIMARY KEY,
                created_at BIGINT NOT NULL
            )""",
            """CREATE TABLE team_members (
                team VARCHAR(64) NOT NULL,
                username VARCHAR(64) NOT NULL,
                role VARCHAR(16) NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (team, username)
            )""",
            "CREATE INDEX team_members_by_user ON team_members (username)",
            """CREATE TABLE namespaces (
                name VARCHAR(255) NOT NULL PRIMARY KEY,
                team VARCHAR(64) NULL,
                visibility VARCHAR(16) NOT NULL,
                created_at BIGINT NOT NULL
            )""",
            """CREATE TABLE app_tokens (
                id CHAR(12) NOT NULL PRIMARY KEY,
                username VARCHAR(64) NOT NULL,
                name VARCHAR(64) NOT NULL,
                secret_hash CHAR(64) NOT NULL,
                namespaces TEXT NOT NULL,
                actions VARCHAR(64) NOT NULL,
                expires_at BIGINT NULL,
                created_at BIGINT NOT NULL,
                last_used_at BIGINT NULL,
                UNIQUE (username, name)
            )""",
            """CREATE TABLE revoked_app_tokens (
                id CHAR(12) NOT NULL PRIMARY KEY,
                revoked_at BIGINT NOT NULL
            )""",
        ),
    ),
    (
        3,
        (
            """CREATE TABLE events (
                seq {autoincrement_pk},
                id VARCHAR(64) NOT NULL,
                created_at BIGINT NOT NULL,
                action VARCHAR(16) NOT NULL,
                repository VARCHAR(255) NOT NULL,
                tag VARCHAR(128) NULL,
                digest VARCHAR(200) NULL,
                actor VARCHAR(64) NOT NULL,
                body TEXT NOT NULL,
                UNIQUE (id)
            )""",
            "CREATE INDEX events_by_repository ON events (repository, seq)",
            "CREATE INDEX events_by_time ON events (created_at)",
            """CREATE TABLE webhooks (
                name VARCHAR(64) NOT NULL PRIMARY KEY,
                url VARCHAR(2048) NOT NULL,
                secret VARCHAR(255) NOT NULL,
                headers TEXT NOT NULL,
                actions VARCHAR(64) NOT NULL,
                repository_pattern VARCHAR(255) NOT NULL,
                source VARCHAR(16) NOT NULL,
                cursor_seq BIGINT NOT NULL,
                leased_by VARCHAR(64) NULL,
                lease_until BIGINT NOT NULL,
                created_at BIGINT NOT NULL
            )""",
            """CREATE TABLE webhook_failures (
                webhook VARCHAR(64) NOT NULL,
                event_seq BIGINT NOT NULL,
                state VARCHAR(16) NOT NULL,
                attempts INTEGER NOT NULL,
                last_error VARCHAR(500) NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (webhook, event_seq)
            )""",
            """CREATE TABLE repositories (
                name VARCHAR(255) NOT NULL PRIMARY KEY,
                created_at BIGINT NOT NULL,
                last_push_at BIGINT NULL,
                last_pull_at BIGINT NULL
            )""",
            """CREATE TABLE tags (
                repository VARCHAR(255) NOT NULL,
                tag VARCHAR(128) NOT NULL,
                digest VARCHAR(200) NOT NULL,
                media_type VARCHAR(255) NOT NULL,
                size BIGINT NOT NULL,
                pushed_at BIGINT NOT NULL,
                PRIMARY KEY (repository, tag)
            )""",
            """CREATE TABLE manifests (
                repository VARCHAR(255) NOT NULL,
                digest VARCHAR(200) NOT NULL,
                media_type VARCHAR(255) NOT NULL,
                size BIGINT NOT NULL,
                artifact_type VARCHAR(255) NULL,
                subject VARCHAR(200) NULL,
                annotations TEXT NULL,
                pushed_at BIGINT NOT NULL,
                PRIMARY KEY (repository, digest)
            )""",
            "CREATE INDEX manifests_by_subject ON manifests (repository, subject)",
        ),
    ),
    (
        4,
        (
            """CREATE TABLE uploads (
                id VARCHAR(64) NOT NULL PRIMARY KEY,
                repository VARCHAR(255) NOT NULL,
                upload_offset BIGINT NOT NULL,
                state TEXT NOT NULL,
                updated_at BIGINT NOT NULL
            )""",
            "CREATE INDEX uploads_by_age ON uploads (updated_at)",
        ),
    ),
    (
        5,
        (
            """CREATE TABLE revoked_subjects (
                name VARCHAR(64) NOT NULL,
                revoked_at BIGINT NOT NULL
            )""",
            "CREATE INDEX revoked_subjects_by_name ON revoked_subjects (name, revoked_at)",
        ),
    ),
    (
        # MariaDB compared names case-insensitively and ignoring trailing spaces (`ALICE`,
        # `alice ` found alice), unlike SQLite and unlike the rest of the gateway: every name,
        # tag and key column now compares exactly, and so does every table created from now on.
        6,
        (
            OnlyOn("mariadb", f"ALTER DATABASE CHARACTER SET utf8mb4 COLLATE {EXACT_COLLATION}"),
            *(
                OnlyOn("mariadb", f"ALTER TABLE {table} CONVERT TO CHARACTER SET utf8mb4 COLLATE {EXACT_COLLATION}")
                for table in _TEXT_TABLES
            ),
        ),
    ),
    (
        7,
        (
            # A namespace deleted (with its user or on its own) while repositories were in it:
            # reserved until an admin releases or purges it (`ended_at` set). Ended rows stay, so
            # tokens issued before the deletion keep being refused until they have expired.
            """CREATE TABLE namespace_tombstones (
                name VARCHAR(255) NOT NULL,
                deleted_at BIGINT NOT NULL,
                former_kind VARCHAR(16) NOT NULL,
                former_owner VARCHAR(64) NULL,
                deleted_by VARCHAR(64) NOT NULL,
                repositories INTEGER NOT NULL,
                ended_at BIGINT NULL,
                ended_by VARCHAR(64) NULL,
                ended_how VARCHAR(16) NULL,
                PRIMARY KEY (name, deleted_at)
            )""",
            "CREATE INDEX namespace_tombstones_by_time ON namespace_tombstones (deleted_at)",
        ),
    ),
    (
        8,
        (  # sealed webhook secrets and URLs outgrow their VARCHARs: the table again with TEXT
            """CREATE TABLE webhooks_sealed (
                name VARCHAR(64) NOT NULL PRIMARY KEY,
                url TEXT NOT NULL,
                secret TEXT NOT NULL,
                headers TEXT NOT NULL,
                actions VARCHAR(64) NOT NULL,
                repository_pattern VARCHAR(255) NOT NULL,
                source VARCHAR(16) NOT NULL,
                cursor_seq BIGINT NOT NULL,
                leased_by VARCHAR(64) NULL,
                lease_until BIGINT NOT NULL,
                created_at BIGINT NOT NULL
            )""",
            """INSERT INTO webhooks_sealed (name, url, secret, headers, actions, repository_pattern, source,
                cursor_seq, leased_by, lease_until, created_at)
            SELECT name, url, secret, headers, actions, repository_pattern, source,
                cursor_seq, leased_by, lease_until, created_at FROM webhooks""",
            "DROP TABLE webhooks",
            "ALTER TABLE webhooks_sealed RENAME TO webhooks",
        ),
    ),
    (
        9,
        (
            # When a refresh token was last used, for the idle limit (tokens.refresh_max_idle).
            "ALTER TABLE refresh_tokens ADD COLUMN last_used_at BIGINT NULL",
            "UPDATE refresh_tokens SET last_used_at = created_at",
        ),
    ),
    (
        10,
        (
            # Web UI sessions: only a hash of the session id (the cookie's value) is kept, so
            # a copy of the database opens no session. Ended rows stay until pruned.
            """CREATE TABLE ui_sessions (
                id_hash CHAR(64) NOT NULL PRIMARY KEY,
                username VARCHAR(64) NOT NULL,
                created_at BIGINT NOT NULL,
                last_seen_at BIGINT NOT NULL,
                ended_at BIGINT NULL
            )""",
            "CREATE INDEX ui_sessions_by_user ON ui_sessions (username)",
            # The one first-run setup code (id 1) every process accepts: its hash decides, the
            # sealed copy lets any process holding the secrets key show it in its log.
            """CREATE TABLE ui_setup_code (
                id INTEGER NOT NULL PRIMARY KEY,
                code_hash CHAR(64) NOT NULL,
                sealed_code TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                used_at BIGINT NULL
            )""",
        ),
    ),
    (
        11,
        (
            # A team's namespaces, in name order, one page at a time (the web UI's team page).
            "CREATE INDEX namespaces_by_team ON namespaces (team, name)",
        ),
    ),
    (
        12,
        (
            # One row counting the writes that can change a cached decision, which every
            # process follows (gateway/store/versioning.py).
            "CREATE TABLE change_version (id INTEGER NOT NULL PRIMARY KEY, version BIGINT NOT NULL)",
            "INSERT INTO change_version (id, version) VALUES (1, 0)",
        ),
    ),
    (
        13,
        (
            # The audit log filtered by action, by actor, and by repository and action (the web
            # UI's "who pushed each tag"), newest first: a page read from the index, not a walk
            # of the whole log for the rows that match (tests/bench/bigstore.py, docs/performance.md).
            "CREATE INDEX events_by_action ON events (action, seq)",
            "CREATE INDEX events_by_actor ON events (actor, seq)",
            "CREATE INDEX events_by_repository_action ON events (repository, action, seq)",
            # The referrers of a digest in digest order: without `digest` in it, SQLite's planner
            # took the primary key for its order and read every manifest of the repository.
            "CREATE INDEX manifests_by_subject_digest ON manifests (repository, subject, digest)",
        ),
    ),
    (
        14,
        (
            # What the tags page and /api/v1 show of an image: an image manifest's size (config
            # and layers) and an index's platforms, space-separated (gateway/events/image_facts.py,
            # at most 1 KiB). Rows indexed before stay NULL: unknown, shown as "-".
            "ALTER TABLE manifests ADD COLUMN image_size BIGINT NULL",
            "ALTER TABLE manifests ADD COLUMN platforms VARCHAR(1024) NULL",
        ),
    ),
    (
        15,
        (
            # Where an account comes from: 'local' (a password of ours) or a directory ('ldap',
            # 'oidc') that decides its password and its groups (gateway/identity/).
            "ALTER TABLE users ADD COLUMN source VARCHAR(16) NOT NULL DEFAULT 'local'",
            # Which directory added a membership: a sync changes and removes only those it added,
            # never members added by hand (NULL).
            "ALTER TABLE team_members ADD COLUMN managed_by VARCHAR(16) NULL",
        ),
    ),
    (
        16,
        (
            # Who signed in with OpenID Connect: the provider's (issuer, subject) names the
            # account for good, so a provider user renamed later (preferred_username) still
            # reaches theirs and never another's.
            """CREATE TABLE oidc_links (
                issuer VARCHAR(255) NOT NULL,
                subject VARCHAR(255) NOT NULL,
                username VARCHAR(64) NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (issuer, subject)
            )""",
            "CREATE INDEX oidc_links_by_user ON oidc_links (username)",
            # Sign-ins under way: the hash of their `state`, bound to the hash of the browser's
            # flow cookie; a row is used once (deleted by the callback) within a few minutes.
            """CREATE TABLE oidc_logins (
                state_hash CHAR(64) NOT NULL PRIMARY KEY,
                browser_hash CHAR(64) NOT NULL,
                created_at BIGINT NOT NULL
            )""",
        ),
    ),
    (
        17,
        (
            # A tag deleted alone over registry 2.8 (gateway/services/tags.py): the row is the
            # repository's lock against manifest writes through any instance, a lease, and the
            # journal of the job (the manifest's exact bytes, base64, and the tags to put back
            # under it), so a job cut short by a crash is finished by whoever finds it expired.
            """CREATE TABLE tag_deletions (
                repository VARCHAR(255) NOT NULL PRIMARY KEY,
                tag VARCHAR(128) NOT NULL,
                holder VARCHAR(64) NOT NULL,
                lease_until BIGINT NOT NULL,
                actor VARCHAR(64) NOT NULL,
                digest VARCHAR(150) NULL,
                media_type VARCHAR(255) NULL,
                manifest MEDIUMTEXT NULL,
                restore_tags MEDIUMTEXT NULL,
                created_at BIGINT NOT NULL
            )""",
            # fnmatch-style patterns of tags that may not move or go, comma-separated.
            "ALTER TABLE namespaces ADD COLUMN immutable_tags VARCHAR(1024) NULL",
        ),
    ),
    (
        18,
        (
            # Namespace quotas (gateway/services/quotas.py). The blobs each pushed manifest holds
            # in storage, with their size as the registry reported it: an image manifest's config
            # and layers, an index's children's blobs. A digest names fixed content, so a
            # manifest's rows never change; `live` says whether they count: set with the
            # manifest's row (`index_push`), cleared when it goes (`index_delete_manifest`,
            # `forget_repository`), so a usage is read from the index alone. Manifests indexed
            # before this migration have none until `portus-gateway namespace recount`.
            """CREATE TABLE manifest_blobs (
                repository VARCHAR(255) NOT NULL,
                manifest VARCHAR(200) NOT NULL,
                namespace VARCHAR(255) NOT NULL,
                blob_digest VARCHAR(200) NOT NULL,
                size BIGINT NOT NULL,
                live INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (repository, manifest, blob_digest)
            )""",
            "CREATE INDEX manifest_blobs_by_namespace ON manifest_blobs (namespace, live, blob_digest, size)",
            # A namespace's quota in bytes; no row: no quota. Kept apart from `namespaces`, since a
            # personal namespace has a quota before it has a row, and keeps it when its user
            # deletes their settings.
            """CREATE TABLE namespace_quotas (
                namespace VARCHAR(255) NOT NULL PRIMARY KEY,
                quota BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )""",
        ),
    ),
    (
        19,
        (
            # One row per kind of maintenance run (`gc`, `retention`), seen by every instance: who
            # runs it (until `lease_until`, extended while it runs, so a crashed run ends by
            # itself), its phase and progress, and the last result. For `gc`, `write_window` = 1
            # while the lease holds means every instance refuses pushes (gateway/services/gc.py).
            """CREATE TABLE maintenance_runs (
                kind VARCHAR(16) NOT NULL PRIMARY KEY,
                run_id VARCHAR(64) NULL,
                holder VARCHAR(255) NULL,
                requested_by VARCHAR(64) NULL,
                dry_run INTEGER NOT NULL DEFAULT 0,
                phase VARCHAR(32) NOT NULL,
                progress VARCHAR(1024) NULL,
                write_window INTEGER NOT NULL DEFAULT 0,
                lease_until BIGINT NOT NULL,
                started_at BIGINT NULL,
                finished_at BIGINT NULL,
                result TEXT NULL
            )""",
            "INSERT INTO maintenance_runs (kind, phase, lease_until) VALUES ('gc', 'idle', 0)",
            "INSERT INTO maintenance_runs (kind, phase, lease_until) VALUES ('retention', 'idle', 0)",
            # Tag retention per namespace, or per repository pattern in it ('' = the namespace's
            # default), evaluated per repository (gateway/services/retention_rules.py).
            """CREATE TABLE retention_policies (
                namespace VARCHAR(255) NOT NULL,
                repository_pattern VARCHAR(255) NOT NULL,
                keep_last INTEGER NOT NULL,
                keep_pulled_days INTEGER NULL,
                keep_matching VARCHAR(256) NULL,
                drop_matching VARCHAR(256) NULL,
                min_age_hours INTEGER NULL,
                updated_by VARCHAR(64) NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (namespace, repository_pattern)
            )""",
        ),
    ),
    (
        20,
        (
            # Imported from another registry front end (`portus-gateway import portus`): which
            # source row became which gateway row, so a second import changes nothing and tells
            # an import's rows from data the gateway made itself. `detail` says how: a user's
            # origin ("password", "ldap", "oauth:PROVIDER", "bot"), a webhook's disabling reason.
            """CREATE TABLE imported_rows (
                origin VARCHAR(16) NOT NULL,
                kind VARCHAR(16) NOT NULL,
                source_id BIGINT NOT NULL,
                target VARCHAR(512) NOT NULL,
                detail VARCHAR(255) NOT NULL,
                imported_at BIGINT NOT NULL,
                PRIMARY KEY (origin, kind, source_id)
            )""",
            # An imported application token: its origin, and the source's own slow hash until its
            # first use (then `secret_hash` holds the SHA-256 of the secret like every other token).
            "ALTER TABLE app_tokens ADD COLUMN origin VARCHAR(16) NULL",
            "ALTER TABLE app_tokens ADD COLUMN legacy_hash VARCHAR(255) NULL",
            "CREATE INDEX app_tokens_by_user_origin ON app_tokens (username, origin)",
            # Why a webhook sends nothing (an imported one the gateway cannot deliver as it was);
            # NULL for every webhook that delivers. An admin's change of the webhook clears it.
            "ALTER TABLE webhooks ADD COLUMN disabled_reason VARCHAR(255) NULL",
        ),
    ),
    (
        21,
        (
            # When each tag was last pulled (the tags page, /api/v1): set from the batched pull
            # events (gateway/events/recorder.py), NULL until a pull after this migration or after
            # the tag was moved to another manifest.
            "ALTER TABLE tags ADD COLUMN last_pull_at BIGINT NULL",
        ),
    ),
    (
        22,
        (
            # Each webhook's recent deliveries, successes and failures alike: one row per envelope
            # sent (after its retries), trimmed to the newest few per webhook as each is added
            # (gateway/events/webhooks.py). `seqs` are the events it carried, comma-separated (at
            # most one batch), so one delivery can be sent again; `status_code` is the receiver's
            # answer, `error` what went wrong (NULL on success).
            """CREATE TABLE webhook_deliveries (
                id {autoincrement_pk},
                webhook VARCHAR(64) NOT NULL,
                first_seq BIGINT NOT NULL,
                last_seq BIGINT NOT NULL,
                seqs TEXT NOT NULL,
                status_code INTEGER NULL,
                error VARCHAR(500) NULL,
                attempts INTEGER NOT NULL,
                redelivery INTEGER NOT NULL DEFAULT 0,
                delivered_at BIGINT NOT NULL
            )""",
            "CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook, id)",
        ),
    ),
    (
        23,
        (
            # A user's e-mail address as their directory (LDAP `email_attribute`, the OpenID
            # `email` claim) or a Portus import gave it; NULL when none did. Shown to admins and
            # to the user only.
            "ALTER TABLE users ADD COLUMN email VARCHAR(255) NULL",
        ),
    ),
    (
        24,
        (
            # The event log's keys alone, a narrow entry each: retention by count steps over
            # the newest `count` of them here instead of through the rows (bodies and all).
            "CREATE INDEX events_by_seq ON events (seq)",
        ),
    ),
    (
        25,
        (
            # The log by the hour of each event, in seq order within it: a time window's newest
            # events are found a few hours' newest keys at a time, whatever the window holds and
            # however late an event was written (gateway/store/events.py `_window_seqs`).
            # `created_at` in the entry answers the window's edges without reading the rows.
            # SQLite indexes the expression (its index on a virtual column is never covering);
            # MariaDB indexes none, so the hour is a virtual column there (computed, never written).
            OnlyOn("sqlite", "CREATE INDEX events_by_hour ON events (created_at / 3600000, seq, created_at)"),
            OnlyOn(
                "mariadb",
                "ALTER TABLE events ADD COLUMN created_hour BIGINT AS (created_at DIV 3600000) VIRTUAL,"
                " ADD INDEX events_by_hour (created_hour, seq, created_at)",
            ),
        ),
    ),
    (
        26,
        (
            # Bounds of each hour's seqs (the hour of migration 25), raised by every insert of
            # events in its transaction (gateway/store/events.py `add_events`): a time window's
            # page orders its hours by `top_seq` from here instead of an index probe an hour,
            # and skips the hours whose `low_seq` is not below its cursor. Bounds, not exact:
            # `low_seq` at most, `top_seq` at least every seq of the hour (deleting events may
            # leave them loose, never wrong); an hour without a row holds no event. Filled from
            # each hour's first and last entry of `events_by_hour` (a loose index scan).
            "CREATE TABLE event_hours (hour BIGINT NOT NULL PRIMARY KEY, low_seq BIGINT NOT NULL, top_seq BIGINT NOT NULL)",
            OnlyOn(
                "sqlite",
                "INSERT INTO event_hours (hour, low_seq, top_seq) SELECT created_at / 3600000, MIN(seq), MAX(seq)"
                " FROM events INDEXED BY events_by_hour GROUP BY created_at / 3600000",
            ),
            OnlyOn(
                "mariadb",
                "INSERT INTO event_hours (hour, low_seq, top_seq) SELECT created_hour, MIN(seq), MAX(seq)"
                " FROM events FORCE INDEX (events_by_hour) GROUP BY created_hour",
            ),
        ),
    ),
    (
        27,
        (
            # The trigram index of repository names (gateway/store/grams.py): each name's distinct
            # three-character substrings, and how many names hold each, so a search reads the
            # postings of its text's rarest trigram instead of every name. VARCHAR, not CHAR: a
            # MariaDB CHAR drops trailing spaces, and a searched trigram may end in one.
            # SQLite keeps the postings in their key alone (WITHOUT ROWID: no second copy).
            OnlyOn(
                "sqlite",
                """CREATE TABLE repository_grams (
                gram VARCHAR(3) NOT NULL,
                name VARCHAR(255) NOT NULL,
                PRIMARY KEY (gram, name)
            ) WITHOUT ROWID""",
            ),
            OnlyOn(
                "mariadb",
                """CREATE TABLE repository_grams (
                gram VARCHAR(3) NOT NULL,
                name VARCHAR(255) NOT NULL,
                PRIMARY KEY (gram, name)
            )""",
            ),
            "CREATE TABLE gram_counts (gram VARCHAR(3) NOT NULL PRIMARY KEY, n BIGINT NOT NULL)",
            # The repositories indexed before: every position of every name, distinct per name
            # (`LENGTH` counts characters on SQLite, bytes on MariaDB: `CHAR_LENGTH` there).
            *(
                OnlyOn(dialect, _BACKFILL_GRAMS.format(length=length))
                for dialect, length in (("sqlite", "LENGTH"), ("mariadb", "CHAR_LENGTH"))
            ),
            "INSERT INTO gram_counts (gram, n) SELECT gram, COUNT(*) FROM repository_grams GROUP BY gram",
        ),
    ),
    (
        28,
        (
            # The access version (gateway/store/versioning.py): moved only by writes that change
            # who may do what, so token grants and namespace lookups outlive pushes.
            "INSERT INTO change_version (id, version) VALUES (2, 0)",
        ),
    ),
    (
        29,
        (
            # The global namespace's repositories (names without `/`) as one range of an index,
            # so that a visitor's catalog read namespace by namespace reads them in order beside
            # the others (gateway/services/repositories.py) instead of walking every name between
            # them. A virtual column: computed from the name, so no insert sets it.
            OnlyOn(
                "sqlite",
                "ALTER TABLE repositories ADD COLUMN in_global INTEGER GENERATED ALWAYS AS (instr(name, '/') = 0) VIRTUAL",
            ),
            OnlyOn(
                "mariadb",
                "ALTER TABLE repositories ADD COLUMN in_global TINYINT AS (LOCATE('/', name) = 0) VIRTUAL",
            ),
            "CREATE INDEX repositories_global ON repositories (in_global, name)",
        ),
    ),
    (
        30,
        (
            # What the last walk of retention by count learnt (gateway/store/events.py
            # `_count_cut`), for every process: at most `at_most` events had seqs up to
            # `top_seq`. A restarted process, another worker or another instance reads it instead
            # of walking the newest keys again before the log outgrows it.
            "CREATE TABLE event_count_mark (id INTEGER NOT NULL PRIMARY KEY, top_seq BIGINT NOT NULL, at_most BIGINT NOT NULL)",
            "INSERT INTO event_count_mark (id, top_seq, at_most) VALUES (1, 0, 0)",
        ),
    ),
)
