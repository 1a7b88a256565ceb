//! The PostgreSQL store, for a fleet of notifier instances sharing installations.
//!
//! One table (name chosen at connect, default `installations`) with `tags text[]` and a
//! GIN index on it, created on connect under an advisory lock. Tag expressions become
//! SQL over bind parameters only (`tags @> ARRAY[$n]::text[]`, `NOT`, `AND`, `OR`):
//! no tag text is ever spliced into SQL. Plain TCP (`NoTls`): run it on a trusted
//! network or a local socket. An erased row leaves the table at once; its dead tuple
//! is gone from disk after (auto)vacuum.

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row};

use crate::installation::{
    Installation, PatchOp, Platform, ValidationError, apply_patch, validate,
};
use crate::store::{InstallationStore, Page, Selection, StoreError};
use crate::tags::TagExpr;

/// Installations in PostgreSQL.
pub struct PostgresStore {
    client: Mutex<Client>,
    table: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("table", &self.table)
            .finish()
    }
}

/// Keeps only the code and message of a server error: its DETAIL can quote a row
/// (push token included), and this text may reach logs.
fn db(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(d) => StoreError::Database(format!("{} ({})", d.message(), d.code().code())),
        None => StoreError::Database(e.to_string()),
    }
}

const COLUMNS: &str =
    "installation_id, platform, push_channel, locale, tags, customer_id, expiration_ms";

impl PostgresStore {
    /// Connects (`host=… user=… password=… dbname=…` or a `postgresql://` URL) and
    /// creates the table and index if missing. `table` is a plain identifier.
    pub async fn connect(config: &str, table: &str) -> Result<Self, StoreError> {
        if table.is_empty()
            || table.len() > 48
            || !table
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            || table.as_bytes()[0].is_ascii_digit()
        {
            return Err(ValidationError::new("table", "must be a lowercase identifier").into());
        }
        let (client, connection) = tokio_postgres::connect(config, NoTls).await.map_err(db)?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(message = "PostgreSQL connection ended.", %error);
            }
        });
        client
            .batch_execute(&format!(
                "BEGIN;
                 SELECT pg_advisory_xact_lock(74114);
                 CREATE TABLE IF NOT EXISTS {table} (
                     installation_id text PRIMARY KEY,
                     platform text NOT NULL CHECK (platform IN ('apns', 'fcm')),
                     push_channel text NOT NULL,
                     locale text NOT NULL,
                     tags text[] NOT NULL DEFAULT '{{}}',
                     customer_id text,
                     expiration_ms bigint
                 );
                 CREATE INDEX IF NOT EXISTS {table}_tags_gin ON {table} USING GIN (tags);
                 COMMIT;"
            ))
            .await
            .map_err(db)?;
        Ok(Self {
            client: Mutex::new(client),
            table: table.to_string(),
        })
    }

    /// Drops the table (tests only).
    pub async fn drop_table(&self) -> Result<(), StoreError> {
        let c = self.client.lock().await;
        c.batch_execute(&format!("DROP TABLE IF EXISTS {}", self.table))
            .await
            .map_err(db)
    }

    fn upsert_sql(&self) -> String {
        format!(
            "INSERT INTO {} ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (installation_id) DO UPDATE SET platform = EXCLUDED.platform,
               push_channel = EXCLUDED.push_channel, locale = EXCLUDED.locale,
               tags = EXCLUDED.tags, customer_id = EXCLUDED.customer_id,
               expiration_ms = EXCLUDED.expiration_ms",
            self.table
        )
    }
}

fn row_to_installation(row: &Row) -> Result<Installation, StoreError> {
    let platform: String = row.try_get(1).map_err(db)?;
    Ok(Installation {
        installation_id: row.try_get(0).map_err(db)?,
        platform: Platform::parse(&platform)
            .ok_or_else(|| StoreError::Database("unknown platform in row".into()))?,
        push_channel: row.try_get(2).map_err(db)?,
        locale: row.try_get(3).map_err(db)?,
        tags: row.try_get(4).map_err(db)?,
        customer_id: row.try_get(5).map_err(db)?,
        expiration_ms: row.try_get(6).map_err(db)?,
    })
}

/// Appends the SQL for `e` to `out`; tag values go to `params` (numbered after `base`).
pub fn expr_to_sql(e: &TagExpr, params: &mut Vec<String>, base: usize, out: &mut String) {
    match e {
        TagExpr::Tag(t) => {
            params.push(t.clone());
            out.push_str(&format!("tags @> ARRAY[${}]::text[]", base + params.len()));
        }
        TagExpr::Not(x) => {
            out.push_str("NOT (");
            expr_to_sql(x, params, base, out);
            out.push(')');
        }
        TagExpr::And(a, b) | TagExpr::Or(a, b) => {
            out.push('(');
            expr_to_sql(a, params, base, out);
            out.push_str(if matches!(e, TagExpr::And(..)) {
                ") AND ("
            } else {
                ") OR ("
            });
            expr_to_sql(b, params, base, out);
            out.push(')');
        }
    }
}

/// The `WHERE` clause for targetable installations matching `expr`: `$1` is now_ms,
/// tags follow from `$2`.
fn where_clause(expr: Option<&TagExpr>, tags: &mut Vec<String>) -> String {
    let mut w = String::from("(expiration_ms IS NULL OR expiration_ms > $1)");
    if let Some(e) = expr {
        w.push_str(" AND (");
        expr_to_sql(e, tags, 1, &mut w);
        w.push(')');
    }
    w
}

#[async_trait]
impl InstallationStore for PostgresStore {
    async fn upsert(&self, inst: Installation) -> Result<(), StoreError> {
        validate(&inst)?;
        let c = self.client.lock().await;
        c.execute(
            &self.upsert_sql(),
            &[
                &inst.installation_id,
                &inst.platform.as_str(),
                &inst.push_channel,
                &inst.locale,
                &inst.tags,
                &inst.customer_id,
                &inst.expiration_ms,
            ],
        )
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn patch(&self, id: &str, ops: &[PatchOp]) -> Result<Installation, StoreError> {
        let mut c = self.client.lock().await;
        let tx = c.transaction().await.map_err(db)?;
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE installation_id = $1 FOR UPDATE",
            self.table
        );
        let row = tx
            .query_opt(&sql, &[&id])
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound)?;
        let next = apply_patch(&row_to_installation(&row)?, ops)?;
        tx.execute(
            &self.upsert_sql(),
            &[
                &next.installation_id,
                &next.platform.as_str(),
                &next.push_channel,
                &next.locale,
                &next.tags,
                &next.customer_id,
                &next.expiration_ms,
            ],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(next)
    }

    async fn get(&self, id: &str) -> Result<Option<Installation>, StoreError> {
        let c = self.client.lock().await;
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE installation_id = $1",
            self.table
        );
        match c.query_opt(&sql, &[&id]).await.map_err(db)? {
            Some(row) => Ok(Some(row_to_installation(&row)?)),
            None => Ok(None),
        }
    }

    async fn erase(&self, id: &str) -> Result<bool, StoreError> {
        let c = self.client.lock().await;
        let sql = format!("DELETE FROM {} WHERE installation_id = $1", self.table);
        Ok(c.execute(&sql, &[&id]).await.map_err(db)? > 0)
    }

    async fn select(
        &self,
        expr: Option<&TagExpr>,
        now_ms: i64,
        sample: usize,
    ) -> Result<Selection, StoreError> {
        let mut tags = Vec::new();
        let w = where_clause(expr, &mut tags);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&now_ms];
        params.extend(tags.iter().map(|t| t as &(dyn ToSql + Sync)));
        let c = self.client.lock().await;
        let count: i64 = c
            .query_one(
                &format!("SELECT count(*) FROM {} WHERE {w}", self.table),
                &params,
            )
            .await
            .map_err(db)?
            .try_get(0)
            .map_err(db)?;
        let limit = i64::try_from(sample).unwrap_or(i64::MAX);
        params.push(&limit);
        let sql = format!(
            "SELECT installation_id FROM {} WHERE {w} ORDER BY installation_id LIMIT ${}",
            self.table,
            params.len()
        );
        let rows = c.query(&sql, &params).await.map_err(db)?;
        let sample = rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(db)?;
        Ok(Selection {
            count: u64::try_from(count).unwrap_or(0),
            sample,
        })
    }

    /// Keyset pagination by installation id: the cursor is the last id returned.
    async fn scan(
        &self,
        expr: Option<&TagExpr>,
        now_ms: i64,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let mut tags = Vec::new();
        let w = where_clause(expr, &mut tags);
        let after = cursor.unwrap_or("").to_string();
        let limit_i = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&now_ms];
        params.extend(tags.iter().map(|t| t as &(dyn ToSql + Sync)));
        params.push(&after);
        params.push(&limit_i);
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE {w} AND installation_id > ${} ORDER BY installation_id LIMIT ${}",
            self.table,
            params.len() - 1,
            params.len()
        );
        let c = self.client.lock().await;
        let rows = c.query(&sql, &params).await.map_err(db)?;
        let installations = rows
            .iter()
            .map(row_to_installation)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if installations.len() >= limit {
            installations.last().map(|i| i.installation_id.clone())
        } else {
            None
        };
        Ok(Page {
            installations,
            next,
        })
    }
}
