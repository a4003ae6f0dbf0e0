//! The LLM slot role ([`LlmSlotStore`]): the cluster-wide limit on LLM calls in flight,
//! `LLM_CLUSTER_CONCURRENCY`, as leased rows of `llm_slots` (decision 0015). A call takes a
//! free slot below the limit (or one whose lease has passed: its holder died), renews the
//! lease while it runs, and releases the slot when it ends. `holder` is unique per call,
//! so renewal and release are fenced: a call whose lease lapsed and whose slot was taken
//! by another cannot renew or free that other call's slot.
//!
//! Both backends run one body ([`llm_slots_impl!`]) over their dialect's statements.
//! PostgreSQL picks the slot with `FOR UPDATE SKIP LOCKED` and compares leases against the
//! database's clock (workers on several hosts share it); SQLite takes its one write lock
//! for the `UPDATE`, so choosing and taking a slot is one atomic step, and the caller binds
//! the instants as RFC 3339 text.

use super::sql::Dialect;
use super::StoreError;
use futures::future::BoxFuture;
use std::time::Duration;

type Fut<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

/// The most slots a cluster limit may have (`LLM_CLUSTER_CONCURRENCY`'s upper bound).
pub const MAX_LLM_SLOTS: u32 = 1024;

/// Object safe, like [`WorkflowStore`](super::WorkflowStore): the LLM client reaches it
/// through the app's adapter as a trait object.
pub trait LlmSlotStore: Send + Sync + 'static {
    /// Creates slots `0..limit` that do not exist yet; safe when processes race.
    fn llm_slots_prepare(&self, limit: u32) -> Fut<'_, ()>;
    /// Takes the lowest free slot below `limit` for `holder` until `lease` from now;
    /// `None` while every one is held under a live lease.
    fn llm_slot_take<'a>(
        &'a self,
        limit: u32,
        holder: &'a str,
        lease: Duration,
    ) -> Fut<'a, Option<u32>>;
    /// Extends `holder`'s lease on `slot` to `lease` from now; `false`: it is not held by
    /// `holder` any more (the lease lapsed and another call took it, or it was released).
    fn llm_slot_renew<'a>(&'a self, slot: u32, holder: &'a str, lease: Duration) -> Fut<'a, bool>;
    /// Frees `slot` if `holder` still holds it; `false` otherwise.
    fn llm_slot_release<'a>(&'a self, slot: u32, holder: &'a str) -> Fut<'a, bool>;
    /// Slots below `limit` held under a live lease.
    fn llm_slots_held(&self, limit: u32) -> Fut<'_, u32>;
}

/// The statements, per dialect. `$n` is bound by number on both backends; `now` is the
/// last parameter where SQLite needs it ([`Dialect::now_arg`]).
pub(crate) struct SlotStatements {
    /// `$1` limit.
    pub prepare: &'static str,
    /// `$1` holder, `$2` lease ([`Dialect::lease_arg`]), `$3` limit; returns the slot.
    pub take: &'static str,
    /// `$1` slot, `$2` holder, `$3` lease.
    pub renew: &'static str,
    /// `$1` slot, `$2` holder.
    pub release: &'static str,
    /// `$1` limit.
    pub held: &'static str,
}

static POSTGRES: SlotStatements = SlotStatements {
    prepare: "INSERT INTO llm_slots (slot) SELECT generate_series(0, $1::int4 - 1) \
              ON CONFLICT (slot) DO NOTHING",
    take:
        "UPDATE llm_slots SET holder = $1, lease_until = now() + make_interval(secs => $2::float8) \
           WHERE slot = (SELECT slot FROM llm_slots \
                         WHERE slot < $3::int4 AND (holder IS NULL OR lease_until <= now()) \
                         ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED) \
             AND (holder IS NULL OR lease_until <= now()) \
           RETURNING slot",
    renew: "UPDATE llm_slots SET lease_until = now() + make_interval(secs => $3::float8) \
            WHERE slot = $1::int4 AND holder = $2",
    release: "UPDATE llm_slots SET holder = NULL, lease_until = NULL \
              WHERE slot = $1::int4 AND holder = $2",
    held: "SELECT COUNT(*) FROM llm_slots \
           WHERE slot < $1::int4 AND holder IS NOT NULL AND lease_until > now()",
};

static SQLITE: SlotStatements = SlotStatements {
    prepare: "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1) \
              INSERT OR IGNORE INTO llm_slots (slot) SELECT i FROM n",
    take: "UPDATE llm_slots SET holder = $1, lease_until = $2 \
           WHERE slot = (SELECT slot FROM llm_slots \
                         WHERE slot < $3 AND (holder IS NULL OR lease_until <= $4) \
                         ORDER BY slot LIMIT 1) \
           RETURNING slot",
    renew: "UPDATE llm_slots SET lease_until = $3 WHERE slot = $1 AND holder = $2",
    release: "UPDATE llm_slots SET holder = NULL, lease_until = NULL \
              WHERE slot = $1 AND holder = $2",
    held: "SELECT COUNT(*) FROM llm_slots \
           WHERE slot < $1 AND holder IS NOT NULL AND lease_until > $2",
};

impl Dialect {
    pub(crate) fn slot_sql(self) -> &'static SlotStatements {
        match self {
            Self::Postgres => &POSTGRES,
            Self::Sqlite => &SQLITE,
        }
    }
}

/// A slot number as both backends bind it (`MAX_LLM_SLOTS` keeps it far from overflow).
pub(crate) fn slot_arg(n: u32) -> i32 {
    i32::try_from(n.min(MAX_LLM_SLOTS)).unwrap_or(i32::MAX)
}

macro_rules! llm_slots_impl {
    ($store:ty, $dialect:expr) => {
        impl $crate::store::LlmSlotStore for $store {
            fn llm_slots_prepare(
                &self,
                limit: u32,
            ) -> futures::future::BoxFuture<'_, Result<(), $crate::store::StoreError>> {
                Box::pin(async move {
                    let sql = $dialect.slot_sql();
                    sqlx::query(sql.prepare)
                        .bind($crate::store::llm_slots::slot_arg(limit))
                        .execute(self.pool())
                        .await?;
                    Ok(())
                })
            }

            fn llm_slot_take<'a>(
                &'a self,
                limit: u32,
                holder: &'a str,
                lease: std::time::Duration,
            ) -> futures::future::BoxFuture<'a, Result<Option<u32>, $crate::store::StoreError>>
            {
                Box::pin(async move {
                    let (d, now) = ($dialect, chrono::Utc::now());
                    let q = sqlx::query_scalar::<_, i32>(d.slot_sql().take)
                        .bind(holder)
                        .bind(d.lease_arg(lease, now))
                        .bind($crate::store::llm_slots::slot_arg(limit));
                    let q = match d.now_arg(now) {
                        Some(n) => q.bind(n),
                        None => q,
                    };
                    let slot = q.fetch_optional(self.pool()).await?;
                    Ok(slot.and_then(|s| u32::try_from(s).ok()))
                })
            }

            fn llm_slot_renew<'a>(
                &'a self,
                slot: u32,
                holder: &'a str,
                lease: std::time::Duration,
            ) -> futures::future::BoxFuture<'a, Result<bool, $crate::store::StoreError>> {
                Box::pin(async move {
                    let (d, now) = ($dialect, chrono::Utc::now());
                    let done = sqlx::query(d.slot_sql().renew)
                        .bind($crate::store::llm_slots::slot_arg(slot))
                        .bind(holder)
                        .bind(d.lease_arg(lease, now))
                        .execute(self.pool())
                        .await?;
                    Ok(done.rows_affected() == 1)
                })
            }

            fn llm_slot_release<'a>(
                &'a self,
                slot: u32,
                holder: &'a str,
            ) -> futures::future::BoxFuture<'a, Result<bool, $crate::store::StoreError>> {
                Box::pin(async move {
                    let done = sqlx::query($dialect.slot_sql().release)
                        .bind($crate::store::llm_slots::slot_arg(slot))
                        .bind(holder)
                        .execute(self.pool())
                        .await?;
                    Ok(done.rows_affected() == 1)
                })
            }

            fn llm_slots_held(
                &self,
                limit: u32,
            ) -> futures::future::BoxFuture<'_, Result<u32, $crate::store::StoreError>> {
                Box::pin(async move {
                    let (d, now) = ($dialect, chrono::Utc::now());
                    let q = sqlx::query_scalar::<_, i64>(d.slot_sql().held)
                        .bind($crate::store::llm_slots::slot_arg(limit));
                    let q = match d.now_arg(now) {
                        Some(n) => q.bind(n),
                        None => q,
                    };
                    let n = q.fetch_one(self.pool()).await?;
                    Ok(u32::try_from(n).unwrap_or(u32::MAX))
                })
            }
        }
    };
}

llm_slots_impl!(super::PgStore, Dialect::Postgres);
llm_slots_impl!(super::SqliteStore, Dialect::Sqlite);
