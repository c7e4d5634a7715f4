//! Fills a database with the rows a large site accumulates, for `bench/scale.sh`: users,
//! refresh families with their spent and live tokens, personal access tokens and
//! registered clients. Benchmark tooling, not part of the server.
//!
//! `cargo run --release --example seed -- <database-url> <families>`
//! `cargo run --release --example seed -- <database-url> <families> expire` (see [`expire_more`])
//!
//! For `F` families it writes `F/10` users (at least one), `F` families (created over the
//! last 30 days, each with two spent refresh tokens and one live one; every tenth family's
//! tokens have expired, so a housekeeping round has work), `F/10` PATs and `F/100`
//! registered clients. At `F` = 1,000,000: 100,000 users, 3,000,000 refresh tokens,
//! 100,000 PATs and 10,000 clients. The schema comes from the server's own migrations
//! ([`Store::open`]); the rows are written in large set-based statements, so a million
//! families take seconds, not hours. Token hashes are random: the benchmark's own tokens
//! are made by the running server.
use std::time::Instant;

use authserver::config::SigningAlgorithm;
use authserver::domain::clients::model::{ClientMetadata, MetadataDraft};
use authserver::store::Store;

/// Rows per statement.
const CHUNK: u64 = 50_000;
/// The client every seeded family belongs to (a properties-file client of `bench/`).
const CLIENT: &str = "webApplicationPlatform";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(families)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: seed <database-url> <families>");
    };
    let families: u64 = families.parse()?;
    if args.next().as_deref() == Some("expire") {
        return expire_more(&url).await;
    }
    let users = (families / 10).max(1);
    let pats = families / 10;
    let clients = families / 100;
    let started = Instant::now();

    // migrations, and a real password hash every seeded user shares
    let store = Store::open(&url, 4).await?;
    store.close().await;
    let hash = authserver::password::hash("seed-password-1").map_err(anyhow::Error::msg)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let db = Db::connect(&url).await?;
    let first_user = db.next_user_id().await?;

    let client_json = client_metadata()?;
    let sqlite = db.is_sqlite();
    let random32 = if sqlite {
        "randomblob(32)".to_string()
    } else {
        "decode(md5(random()::text || n::text) || md5(n::text || random()::text), 'hex')"
            .to_string()
    };

    for (label, total, make) in [
        (
            "users",
            users,
            Box::new(|lo: u64, hi: u64| {
                let from = series(sqlite, lo, hi);
                format!(
                    "INSERT INTO users (username, password_hash, name, email, created_at, updated_at)
                     SELECT 'seed-user-' || n, '{hash}', 'Seed User ' || n, 'seed' || n || '@example.com', {now}, {now} {from}"
                )
            }) as Box<dyn Fn(u64, u64) -> String>,
        ),
        (
            "refresh families",
            families,
            Box::new(|lo, hi| {
                let from = series(sqlite, lo, hi);
                format!(
                    "INSERT INTO refresh_families (id, user_id, client_id, created_at, generation)
                     SELECT 'seed-family-' || n, {first_user} + (n % {users}), '{CLIENT}',
                            {now} - (n % 30) * 86400 - 60, 0 {from}"
                )
            }),
        ),
        (
            "refresh tokens (2 spent + 1 live per family)",
            families,
            Box::new(|lo, hi| {
                let from = series(sqlite, lo, hi);
                // every tenth family's tokens have expired
                let expires =
                    format!("CASE WHEN n % 10 = 0 THEN {now} - 60 ELSE {now} + 30 * 86400 END");
                let created = format!("{now} - (n % 30) * 86400 - 60");
                // a typed NULL: PostgreSQL would take an untyped one in a UNION for text
                let no_parent = if sqlite { "NULL" } else { "NULL::bytea" };
                let row = |spent: &str| {
                    format!(
                        "SELECT {random32}, 'seed-family-' || n, '{CLIENT}', {first_user} + (n % {users}),
                                'openid offline_access', {created}, {created}, {expires}, {spent}, {no_parent} {from}"
                    )
                };
                format!(
                    "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, auth_time,
                                                 created_at, expires_at, spent_at, parent_hash)
                     {} UNION ALL {} UNION ALL {}",
                    row(&created),
                    row(&created),
                    row("NULL")
                )
            }),
        ),
        (
            "personal access tokens",
            pats,
            Box::new(|lo, hi| {
                let from = series(sqlite, lo, hi);
                format!(
                    "INSERT INTO personal_access_tokens (id, token_hash, user_id, description, scope, created_at)
                     SELECT 'seed-pat-' || n, {random32}, {first_user} + (n % {users}), 'seeded', 'data', {now} {from}"
                )
            }),
        ),
        (
            "registered clients",
            clients,
            Box::new(|lo, hi| {
                let from = series(sqlite, lo, hi);
                let json = client_json.replace('\'', "''");
                format!(
                    "INSERT INTO oauth_clients (client_id, name, metadata, dynamic, created_at, updated_at)
                     SELECT 'seed-client-' || n, 'Seed client', '{json}', FALSE, {now}, {now} {from}"
                )
            }),
        ),
    ] {
        let t = Instant::now();
        let mut lo = 0;
        while lo < total {
            let hi = (lo + CHUNK).min(total);
            db.exec(&make(lo, hi)).await?;
            lo = hi;
        }
        eprintln!(
            "seed: {total} {label} in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    db.analyze().await?;
    eprintln!("seed: done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// `seed <url> <families> expire`: lets the refresh tokens of another tenth of the seeded
/// families (those numbered 5 mod 10) expire now, so the next housekeeping round has as
/// much to delete as the first (`bench/scale.sh` measures that round under load).
async fn expire_more(url: &str) -> anyhow::Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let started = Instant::now();
    let db = Db::connect(url).await?;
    db.exec(&format!(
        "UPDATE refresh_tokens SET expires_at = {now} - 60
         WHERE family_id LIKE 'seed-family-%5' AND expires_at > {now}"
    ))
    .await?;
    eprintln!(
        "seed: another tenth of the families expired in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `FROM` clause yielding `n` in `lo..hi`.
fn series(sqlite: bool, lo: u64, hi: u64) -> String {
    if sqlite {
        // SQLite has no generate_series by default: a recursive CTE in a subquery
        format!(
            "FROM (WITH RECURSIVE s(n) AS (SELECT {lo} UNION ALL SELECT n + 1 FROM s WHERE n + 1 < {hi})
                   SELECT n FROM s) AS seq"
        )
    } else {
        format!("FROM generate_series({lo}, {}) AS n", hi - 1)
    }
}

/// One valid registered client's metadata, as the server itself validates and stores it.
fn client_metadata() -> anyhow::Result<String> {
    let draft = MetadataDraft {
        client_name: Some("Seed client".into()),
        redirect_uris: Some(vec!["https://app.example.com/callback".into()]),
        grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
        ..MetadataDraft::default()
    };
    let metadata = ClientMetadata::new(draft, &[SigningAlgorithm::RS256])
        .map_err(|e| anyhow::anyhow!("client metadata: {e:?}"))?;
    Ok(serde_json::to_string(&metadata)?)
}

/// A plain connection to the benchmark database (the server's own store hides its pool).
enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    async fn connect(url: &str) -> anyhow::Result<Db> {
        Ok(if url.starts_with("sqlite:") {
            Db::Sqlite(sqlx::SqlitePool::connect(url).await?)
        } else {
            Db::Postgres(sqlx::PgPool::connect(url).await?)
        })
    }

    fn is_sqlite(&self) -> bool {
        matches!(self, Db::Sqlite(_))
    }

    async fn exec(&self, sql: &str) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(p) => {
                sqlx::raw_sql(sql).execute(p).await?;
            }
            Db::Postgres(p) => {
                sqlx::raw_sql(sql).execute(p).await?;
            }
        }
        Ok(())
    }

    async fn next_user_id(&self) -> anyhow::Result<i64> {
        let sql = "SELECT COALESCE(MAX(id), 0) + 1 FROM users";
        Ok(match self {
            Db::Sqlite(p) => sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await?,
            Db::Postgres(p) => sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await?,
        })
    }

    async fn analyze(&self) -> anyhow::Result<()> {
        self.exec("ANALYZE").await
    }
}
