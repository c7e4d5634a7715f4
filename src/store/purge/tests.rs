//! The prefetched delete against a real SQLite file: which indexes it reads, what it
//! deletes, and that a row which changed between the choice and the delete stays.
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;
use tokio::sync::RwLock;

use super::{choose, delete_chosen, indexes_of, prefetched_delete, Arg};

const SCHEMA: [&str; 6] = [
    "CREATE TABLE t (key TEXT PRIMARY KEY, owner INTEGER NOT NULL, kind TEXT NOT NULL,
                     expires_at INTEGER NOT NULL)",
    "CREATE INDEX t_owner ON t (owner)",
    "CREATE INDEX t_owner_kind ON t (owner, kind)",
    "CREATE INDEX t_expires ON t (expires_at)",
    "CREATE INDEX t_partial ON t (kind) WHERE kind = 'x'",
    "CREATE INDEX t_expression ON t (lower(kind))",
];

/// A database with `t` holding 100 rows: `k0`…`k99`, the even ones expired at 1000.
async fn database(dir: &tempfile::TempDir) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("t.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .unwrap();
    for sql in SCHEMA {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    for i in 0..100 {
        sqlx::query("INSERT INTO t VALUES ($1, $2, 'a', $3)")
            .bind(format!("k{i}"))
            .bind(i % 7)
            .bind(if i % 2 == 0 { 900 } else { 2000 })
            .execute(&pool)
            .await
            .unwrap();
    }
    pool
}

async fn keys(pool: &SqlitePool) -> Vec<String> {
    sqlx::query_scalar("SELECT key FROM t ORDER BY owner, key")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn reads_every_index_but_partial_and_expression_ones() {
    let dir = tempfile::tempdir().unwrap();
    let pool = database(&dir).await;
    let mut conn = pool.acquire().await.unwrap();
    let mut indexes = indexes_of(&mut conn, "t").await.unwrap();
    indexes.sort();
    let expected: Vec<(String, Vec<String>)> = vec![
        ("sqlite_autoindex_t_1".into(), vec!["key".into()]),
        ("t_expires".into(), vec!["expires_at".into()]),
        ("t_owner".into(), vec!["owner".into()]),
        ("t_owner_kind".into(), vec!["owner".into(), "kind".into()]),
    ];
    assert_eq!(indexes, expected);
}

#[tokio::test]
async fn deletes_what_matches_up_to_the_limit_and_leaves_the_indexes_whole() {
    let dir = tempfile::tempdir().unwrap();
    let pool = database(&dir).await;
    let bulk = RwLock::new(());
    let cond = "expires_at < $1";
    let now = [Arg::Int(1000)];

    for (expected, what) in [
        (30, "the limit"),
        (20, "the rest of the 50 expired rows"),
        (0, "nothing left to delete"),
    ] {
        let (rows, _) = prefetched_delete((&pool, &pool, &bulk), "t", cond, &now, 30)
            .await
            .unwrap();
        assert_eq!(rows, expected, "{what}");
    }

    let left = keys(&pool).await;
    assert_eq!(left.len(), 50);
    assert!(left.iter().all(|k| k[1..].parse::<u32>().unwrap() % 2 == 1));
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    // every index finds what the table holds
    for (index, column) in [("t_owner", "owner"), ("t_expires", "expires_at")] {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM t INDEXED BY {index} WHERE {column} IS NOT NULL"
        ))
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(n, 50, "{index}");
    }
}

#[tokio::test]
async fn a_row_that_stopped_matching_after_the_choice_stays() {
    let dir = tempfile::tempdir().unwrap();
    let pool = database(&dir).await;
    let bulk = RwLock::new(());
    let cond = "expires_at < $1";
    let now = [Arg::Int(1000)];

    let chosen = choose(&pool, "t", cond, &now, 1000).await.unwrap().unwrap();
    // meanwhile k0 is renewed, and k1 (never chosen) expires
    sqlx::query("UPDATE t SET expires_at = 5000 WHERE key = 'k0'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE t SET expires_at = 10 WHERE key = 'k1'")
        .execute(&pool)
        .await
        .unwrap();
    let (rows, _) = delete_chosen((&pool, &bulk), "t", cond, &now, &chosen)
        .await
        .unwrap();
    assert_eq!(rows, 49);
    let left = keys(&pool).await;
    assert!(left.contains(&"k0".to_string()), "renewed meanwhile");
    assert!(
        left.contains(&"k1".to_string()),
        "not chosen: the next statement's"
    );
    assert!(choose(&pool, "t", "key = $1", &[Arg::Text("nothing")], 10)
        .await
        .unwrap()
        .is_none());
}
